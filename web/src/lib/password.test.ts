import { describe, expect, it } from "vitest";
import { estimateScore, evaluatePassword, similarity } from "./password";

const ada = { email: "ada.lovelace@example.com", fullName: "Ada Lovelace" };

describe("the password rules", () => {
  it("computes similarity as Python's SequenceMatcher does (the server's tests)", () => {
    expect(similarity("abcd", "bcde")).toBeCloseTo(0.75);
    expect(similarity("abc", "abc")).toBe(1);
    expect(similarity("abc", "xyz")).toBe(0);
  });

  it("reports a short, numeric password", () => {
    const report = evaluatePassword("1234", ada);
    expect(report.meetsHardRules).toBe(false);
    expect(report.hardViolations).toContain("This password is too short. It must contain at least 8 characters.");
    expect(report.hardViolations).toContain("This password is entirely numeric.");
  });

  it("refuses a password too similar to the email or the name, like the server", () => {
    expect(evaluatePassword("ada.lovelace1", ada).hardViolations).toContain("The password is too similar to the email.");
    expect(evaluatePassword("adalovelace", ada).hardViolations).toContain("The password is too similar to the full name.");
  });

  it("accepts a password the server accepts", () => {
    const report = evaluatePassword("vivid-otter-cabinet-91", ada);
    expect(report.meetsHardRules).toBe(true);
    expect(report.score).toBeGreaterThanOrEqual(3);
    expect(report.rules.every((rule) => rule.met)).toBe(true);
  });

  it("refuses more than 128 characters", () => {
    expect(evaluatePassword("x".repeat(129), ada).hardViolations[0]).toMatch(/too long/);
  });
});

describe("the strength estimate", () => {
  it.each(["password", "Password1", "p@ssw0rd!", "qwertyuiop", "aaaaaaaaaaaa", "12345678", "abcdefgh1"])("calls %s weak", (password) => {
    expect(estimateScore(password)).toBeLessThan(3);
  });

  it.each(["vivid-otter-cabinet-91", "Tq7#mZ2!wR9x", "correct horse battery staple"])("calls %s strong", (password) => {
    expect(estimateScore(password)).toBeGreaterThanOrEqual(3);
  });

  it("counts the user's own words as guessable", () => {
    expect(estimateScore("lovelace2024", ["lovelace"])).toBeLessThan(estimateScore("lovelace2024"));
  });
});
