/**
 * The password rules of the server (crates/domain/src/policy.rs), checked while the user
 * types. Length, "entirely numeric" and the similarity to the email or name are computed
 * exactly as the server does. Guessability is only an estimate: the server runs the full
 * zxcvbn with its 30,000-password dictionary and demands a score of 3, and shipping that
 * dictionary to every browser is not worth it. The server's answer always wins; this meter
 * only spares the user a round trip for the obvious cases.
 */

export const MIN_LENGTH = 8;
export const MAX_LENGTH = 128;
export const MIN_SCORE = 3;
/** How long a reset link works: the server's PASSWORD_RESET_LIFETIME default (1800 s). */
export const RESET_LINK_MINUTES = 30;
/** Django's UserAttributeSimilarityValidator default, as the server uses it. */
const MAX_SIMILARITY = 0.7;

export type Score = 0 | 1 | 2 | 3 | 4;

export interface PasswordRule {
  id: "length" | "numeric" | "email" | "name" | "strength";
  label: string;
  met: boolean;
}

export interface PasswordReport {
  score: Score;
  rules: PasswordRule[];
  /** True when every rule the client can decide for certain is met. */
  meetsHardRules: boolean;
  /** Messages for the rules broken for certain, worded like the server's. */
  hardViolations: string[];
}

export const SCORE_LABELS: Record<Score, string> = {
  0: "Very weak",
  1: "Weak",
  2: "Fair",
  3: "Strong",
  4: "Very strong",
};

const chars = (text: string): string[] => Array.from(text);

export function evaluatePassword(password: string, context: { email?: string; fullName?: string }): PasswordReport {
  const length = chars(password).length;
  const lowered = password.toLowerCase();
  const email = (context.email ?? "").trim().toLowerCase();
  const name = (context.fullName ?? "").trim().toLowerCase();
  const localPart = email.includes("@") ? email.slice(0, email.lastIndexOf("@")) : email;

  const lengthOk = length >= MIN_LENGTH && length <= MAX_LENGTH;
  const numericOk = password === "" || !/^[0-9]+$/.test(password);
  const emailOk = password === "" || email === "" || !resembles(lowered, email, localPart);
  const nameOk = password === "" || name === "" || !resembles(lowered, name, "");
  const score = estimateScore(password, [email, localPart, ...name.split(/\s+/)].filter((word) => word.length > 2));

  const hardViolations: string[] = [];
  if (length < MIN_LENGTH) hardViolations.push(`This password is too short. It must contain at least ${MIN_LENGTH} characters.`);
  if (length > MAX_LENGTH) hardViolations.push(`This password is too long. It must contain at most ${MAX_LENGTH} characters.`);
  if (!numericOk) hardViolations.push("This password is entirely numeric.");
  if (!emailOk) hardViolations.push("The password is too similar to the email.");
  if (!nameOk) hardViolations.push("The password is too similar to the full name.");

  return {
    score,
    rules: [
      { id: "length", label: `${MIN_LENGTH} to ${MAX_LENGTH} characters`, met: lengthOk },
      { id: "numeric", label: "Not only numbers", met: password !== "" && numericOk },
      { id: "email", label: "Not too similar to your email", met: password !== "" && emailOk },
      { id: "name", label: "Not too similar to your name", met: password !== "" && nameOk },
      { id: "strength", label: "Hard to guess (strong or better)", met: score >= MIN_SCORE },
    ],
    meetsHardRules: hardViolations.length === 0,
    hardViolations,
  };
}

/** The server's test: the password against the whole value, the extra value, and every word
 * of either, split on anything that is not a letter or digit. */
function resembles(password: string, value: string, extra: string): boolean {
  const split = (text: string) => text.split(/[^\p{L}\p{N}]/u);
  const words = [...split(value), ...split(extra), value, extra].filter((word) => word !== "");
  return words.some((word) => similarity(password, word) >= MAX_SIMILARITY);
}

/** Ratcliff/Obershelp similarity, as Python's SequenceMatcher.ratio() and the server compute it. */
export function similarity(left: string, right: string): number {
  const a = chars(left);
  const b = chars(right);
  const total = a.length + b.length;
  if (total === 0) return 1;
  return (2 * matchingCharacters(a, b)) / total;
}

function matchingCharacters(a: string[], b: string[]): number {
  const [aStart, bStart, length] = longestCommonSubstring(a, b);
  if (length === 0) return 0;
  return (
    length +
    matchingCharacters(a.slice(0, aStart), b.slice(0, bStart)) +
    matchingCharacters(a.slice(aStart + length), b.slice(bStart + length))
  );
}

function longestCommonSubstring(a: string[], b: string[]): [number, number, number] {
  let best: [number, number, number] = [0, 0, 0];
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 0; i < a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 0; j < b.length; j++) {
      if (a[i] === b[j]) {
        const run = (previous[j] ?? 0) + 1;
        current[j + 1] = run;
        if (run > best[2]) best = [i + 1 - run, j + 1 - run, run];
      }
    }
    previous = current;
  }
  return best;
}

/** A few of the most common passwords and words in them; a password made of these is weak
 * however long it is. The server's list is far longer. */
const COMMON = [
  "password", "passw0rd", "qwerty", "azerty", "letmein", "welcome", "admin", "login", "iloveyou",
  "monkey", "dragon", "master", "sunshine", "princess", "football", "baseball", "shadow",
  "superman", "batman", "trustno1", "starwars", "whatever", "freedom", "secret", "hello",
  "charlie", "michael", "jennifer", "jordan", "hunter", "ranger", "summer", "winter", "spring",
  "autumn", "computer", "internet", "changeme", "default", "abc", "qwertyuiop", "asdfgh",
  "zxcvbn", "pass", "love", "lovely", "flower", "cookie", "cheese", "pepper", "soccer", "hockey",
  "killer", "tigger", "ginger", "matrix", "access", "mustang", "user", "test", "guest",
];
const KEYBOARD_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "abcdefghijklmnopqrstuvwxyz"];

/** Estimates zxcvbn's 0–4 score from an approximate log10 of the guesses needed. */
export function estimateScore(password: string, personalWords: string[] = []): Score {
  if (password === "") return 0;
  // Work on UTF-16 units so string indexes and array indexes agree; lower-casing that changes
  // the length (rare Unicode cases) just skips the case-insensitive matching.
  const original = password.split("");
  const lowerCandidate = password.toLowerCase();
  const lowered = lowerCandidate.length === password.length ? lowerCandidate : password;
  // Undo the usual l33t substitutions so "p@ssw0rd" is recognised as "password".
  const unleeted = lowered
    .replace(/[@4]/g, "a")
    .replace(/3/g, "e")
    .replace(/[1!]/g, "i")
    .replace(/0/g, "o")
    .replace(/\$/g, "s")
    .replace(/7/g, "t");
  const covered = new Array<boolean>(original.length).fill(false);
  let bits = 0;

  // Known words count as a few hundred guesses each instead of their brute-force size.
  const words = [...personalWords, ...COMMON].filter((word) => word.length >= 3).sort((x, y) => y.length - x.length);
  for (const word of words) {
    for (const candidate of [lowered, unleeted]) {
      let at = candidate.indexOf(word);
      while (at !== -1) {
        if (covered.slice(at, at + word.length).every((isCovered) => !isCovered)) {
          covered.fill(true, at, at + word.length);
          bits += 9;
        }
        at = candidate.indexOf(word, at + word.length);
      }
    }
  }

  bits += coverPatterns(lowered.split(""), covered);

  const rest = original.filter((_, index) => !covered[index]);
  let pool = 0;
  if (rest.some((c) => /[a-z]/.test(c))) pool += 26;
  if (rest.some((c) => /[A-Z]/.test(c))) pool += 26;
  if (rest.some((c) => /[0-9]/.test(c))) pool += 10;
  if (rest.some((c) => /[^a-zA-Z0-9]/.test(c) && c.charCodeAt(0) < 128)) pool += 33;
  if (rest.some((c) => c.charCodeAt(0) >= 128)) pool += 100;
  // Human-chosen text is far from random: count each character at ~70% of its pool's entropy.
  if (rest.length > 0) bits += rest.length * Math.log2(pool) * 0.7;

  const log10Guesses = bits * Math.log10(2);
  if (log10Guesses < 3) return 0;
  if (log10Guesses < 6) return 1;
  if (log10Guesses < 8) return 2;
  if (log10Guesses < 10) return 3;
  return 4;
}

/** Marks repeats ("aaaa") and runs along the alphabet, the digits or a keyboard row ("abcd",
 * "4321", "qwer") as covered, and returns the bits they are worth: such runs are guessed
 * early. */
function coverPatterns(text: string[], covered: boolean[]): number {
  let bits = 0;
  let i = 0;
  while (i < text.length) {
    if (covered[i]) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < text.length && !covered[end] && text[end] === text[i]) end++;
    if (end - i >= 3) {
      covered.fill(true, i, end);
      bits += Math.log2(95 * (end - i));
      i = end;
      continue;
    }
    let best = 0;
    for (const row of KEYBOARD_ROWS) {
      for (const sequence of [row, [...row].reverse().join("")]) {
        const position = sequence.indexOf(text[i] ?? "");
        if (position === -1) continue;
        let length = 0;
        while (i + length < text.length && !covered[i + length] && sequence[position + length] === text[i + length]) length++;
        best = Math.max(best, length);
      }
    }
    if (best >= 3) {
      covered.fill(true, i, i + best);
      bits += Math.log2(26 * 2 * best);
      i += best;
      continue;
    }
    i++;
  }
  return bits;
}
