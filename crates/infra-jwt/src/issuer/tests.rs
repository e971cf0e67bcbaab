//! Tests of [`JwtTokenIssuer`] with real JWTs: round trips with both algorithms, every way a
//! token is refused (each asserting the exact [`TokenError`]), rotation, and the JWKS.

use super::*;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::EncodePublicKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::{Value, json};
use time::Duration as TimeDuration;

const SECRET: &[u8] = b"test secret: thirty-two bytes at the very least";
const OTHER_SECRET: &[u8] = b"another test secret, also thirty-two bytes long";
const ISSUER: &str = "https://auth.test";
const AUDIENCE: &str = "test-api";

/// A key made with `openssl genpkey -algorithm ed25519` for these tests only, so that keys
/// from the usual tool are known to load (the others are generated per test).
const OPENSSL_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGoVU3HKvMK0zxCx0lIOCuvl8pyZ+/7TBanLA6Q3+rxt
-----END PRIVATE KEY-----
";
/// `openssl pkey -in private.pem -pubout` of the key above.
const OPENSSL_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAtztP7JuMuGKK8+0LUb2E+TM4YxUD9AHARUrqblqCVgQ=
-----END PUBLIC KEY-----
";
/// The last 32 bytes of `openssl pkey -pubout -outform DER`, base64url.
const OPENSSL_PUBLIC_X: &str = "tztP7JuMuGKK8-0LUb2E-TM4YxUD9AHARUrqblqCVgQ";

struct TestKey {
    private_pem: String,
    public_pem: String,
    public_raw: [u8; 32],
}

fn generated_key() -> TestKey {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).unwrap();
    let signing_key = SigningKey::from_bytes(&seed);
    TestKey {
        private_pem: signing_key
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .to_string(),
        public_pem: signing_key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
        public_raw: signing_key.verifying_key().to_bytes(),
    }
}

fn hs256() -> JwtTokenIssuer {
    JwtTokenIssuer::hs256(SECRET, ISSUER, AUDIENCE, clock()).unwrap()
}

fn eddsa(key: &TestKey) -> JwtTokenIssuer {
    JwtTokenIssuer::ed25519_from_pem(&key.private_pem, ISSUER, AUDIENCE, clock()).unwrap()
}

/// The time every issuer in these tests reads from its clock: 2026-12-04 12:00:00 UTC.
const NOW: i64 = 1_796_385_600;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock)
}

fn now() -> OffsetDateTime {
    FixedClock.now()
}

fn claims_at(issued_at: OffsetDateTime, lifetime: TimeDuration) -> AccessClaims {
    AccessClaims {
        user_id: UserId::new(),
        session_id: SessionId::new(),
        role: Role::User,
        issued_at,
        expires_at: issued_at + lifetime,
        token_id: Uuid::new_v4(),
    }
}

fn fresh_claims() -> AccessClaims {
    claims_at(now(), TimeDuration::minutes(15))
}

fn issue(issuer: &JwtTokenIssuer, claims: &AccessClaims) -> String {
    issuer.issue(claims).unwrap().expose().to_owned()
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The header, payload and signature of a compact JWT.
fn split(token: &str) -> (Value, Value, Vec<u8>) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    (
        decode_part(parts[0]),
        decode_part(parts[1]),
        URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
    )
}

/// A token with exactly this header and payload, really signed with `key` and `algorithm`.
fn sign(header: &Value, payload: &Value, key: &EncodingKey, algorithm: Algorithm) -> String {
    let message = format!("{}.{}", encode_part(header), encode_part(payload));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm).unwrap();
    format!("{message}.{signature}")
}

fn sign_hs256(header: &Value, payload: &Value, secret: &[u8]) -> String {
    sign(
        header,
        payload,
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
}

/// The header and payload an issuer makes for `claims`, for tests that change one member.
fn header_and_payload(issuer: &JwtTokenIssuer, claims: &AccessClaims) -> (Value, Value) {
    let (header, payload, _) = split(&issue(issuer, claims));
    (header, payload)
}

// Round trips and what issued tokens contain.

#[test]
fn hs256_tokens_round_trip_to_the_second() {
    let issuer = hs256();
    let claims = fresh_claims();
    assert_eq!(issuer.verify(&issue(&issuer, &claims)), Ok(claims));
    assert_eq!(issuer.algorithm(), "HS256");

    let admin = AccessClaims {
        role: Role::Admin,
        ..fresh_claims()
    };
    assert_eq!(issuer.verify(&issue(&issuer, &admin)), Ok(admin));
}

#[test]
fn eddsa_tokens_round_trip_with_generated_and_openssl_keys() {
    for issuer in [
        eddsa(&generated_key()),
        JwtTokenIssuer::ed25519_from_pem(OPENSSL_PRIVATE_PEM, ISSUER, AUDIENCE, clock()).unwrap(),
    ] {
        let claims = fresh_claims();
        assert_eq!(issuer.verify(&issue(&issuer, &claims)), Ok(claims));
        assert_eq!(issuer.algorithm(), "EdDSA");
    }
}

#[test]
fn sub_second_timestamps_are_truncated_to_the_second() {
    let issuer = hs256();
    let issued_at = now() + TimeDuration::milliseconds(700);
    let claims = claims_at(issued_at, TimeDuration::minutes(15));
    let verified = issuer.verify(&issue(&issuer, &claims)).unwrap();
    assert_eq!(verified.issued_at, now_truncated(issued_at));
    assert_eq!(verified.expires_at, now_truncated(claims.expires_at));
}

fn now_truncated(instant: OffsetDateTime) -> OffsetDateTime {
    instant.replace_nanosecond(0).unwrap()
}

#[test]
fn issued_tokens_carry_the_access_token_header_and_every_claim() {
    let key = generated_key();
    for issuer in [hs256(), eddsa(&key)] {
        let claims = fresh_claims();
        let (header, payload, _) = split(&issue(&issuer, &claims));
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], issuer.algorithm());
        assert_eq!(header["kid"], issuer.key_id());
        assert_eq!(payload["iss"], ISSUER);
        assert_eq!(payload["aud"], AUDIENCE);
        assert_eq!(payload["sub"], claims.user_id.to_string());
        assert_eq!(payload["sid"], claims.session_id.to_string());
        assert_eq!(payload["role"], "user");
        assert_eq!(payload["iat"], claims.issued_at.unix_timestamp());
        assert_eq!(payload["nbf"], claims.issued_at.unix_timestamp());
        assert_eq!(payload["exp"], claims.expires_at.unix_timestamp());
        assert_eq!(payload["jti"], claims.token_id.to_string());
    }
}

// Tampering.

#[test]
fn a_flipped_signature_byte_is_an_invalid_signature() {
    let key = generated_key();
    for issuer in [hs256(), eddsa(&key)] {
        let token = issue(&issuer, &fresh_claims());
        let (message, signature) = token.rsplit_once('.').unwrap();
        let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        for index in [0, signature.len() / 2, signature.len() - 1] {
            let mut flipped = signature.clone();
            flipped[index] ^= 0x01;
            let forged = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&flipped));
            assert_eq!(
                issuer.verify(&forged),
                Err(TokenError::InvalidSignature),
                "{}",
                issuer.algorithm()
            );
        }
        signature.truncate(signature.len() - 1);
        let truncated = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&signature));
        assert_eq!(issuer.verify(&truncated), Err(TokenError::InvalidSignature));
    }
}

#[test]
fn an_edited_payload_is_an_invalid_signature() {
    let key = generated_key();
    for issuer in [hs256(), eddsa(&key)] {
        let token = issue(&issuer, &fresh_claims());
        let (header, mut payload, signature) = split(&token);
        payload["role"] = json!("admin");
        let forged = format!(
            "{}.{}.{}",
            encode_part(&header),
            encode_part(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        );
        assert_eq!(issuer.verify(&forged), Err(TokenError::InvalidSignature));
    }
}

#[test]
fn alg_none_is_a_wrong_algorithm_with_or_without_a_kid() {
    let issuer = hs256();
    let token = issue(&issuer, &fresh_claims());
    let (_, payload, signature) = split(&token);
    for alg in ["none", "None", "NONE"] {
        for header in [
            json!({ "alg": alg, "typ": "at+jwt", "kid": issuer.key_id() }),
            json!({ "alg": alg, "typ": "at+jwt" }),
        ] {
            let unsigned = format!("{}.{}.", encode_part(&header), encode_part(&payload));
            assert_eq!(issuer.verify(&unsigned), Err(TokenError::WrongAlgorithm));
            let with_old_signature = format!("{unsigned}{}", URL_SAFE_NO_PAD.encode(&signature));
            assert_eq!(
                issuer.verify(&with_old_signature),
                Err(TokenError::WrongAlgorithm)
            );
        }
    }
}

#[test]
fn another_hmac_algorithm_with_the_right_secret_is_a_wrong_algorithm() {
    let issuer = hs256();
    let (mut header, payload) = header_and_payload(&issuer, &fresh_claims());
    header["alg"] = json!("HS512");
    let token = sign(
        &header,
        &payload,
        &EncodingKey::from_secret(SECRET),
        Algorithm::HS512,
    );
    assert_eq!(issuer.verify(&token), Err(TokenError::WrongAlgorithm));
}

#[test]
fn hs256_signed_with_the_eddsa_public_key_is_a_wrong_algorithm() {
    let key = generated_key();
    let issuer = eddsa(&key);
    let (mut header, payload) = header_and_payload(&issuer, &fresh_claims());
    header["alg"] = json!("HS256");
    let public_der = split_pem_der(&key.public_pem);
    let confused_secrets: [&[u8]; 3] = [key.public_pem.as_bytes(), &key.public_raw, &public_der];
    for secret in confused_secrets {
        let token = sign_hs256(&header, &payload, secret);
        assert_eq!(issuer.verify(&token), Err(TokenError::WrongAlgorithm));
    }

    // Even when the issuer also accepts HS256 (for a migration), the algorithm stays pinned
    // per key: the EdDSA key's kid with HS256 is refused, and the HMAC key's kid needs its
    // own secret.
    let migrating = eddsa(&key)
        .with_verification_key(VerificationKey::hs256(SECRET).unwrap())
        .unwrap();
    for secret in confused_secrets {
        let token = sign_hs256(&header, &payload, secret);
        assert_eq!(migrating.verify(&token), Err(TokenError::WrongAlgorithm));
        let mut hmac_header = header.clone();
        hmac_header["kid"] = json!(VerificationKey::hs256(SECRET).unwrap().key_id());
        let token = sign_hs256(&hmac_header, &payload, secret);
        assert_eq!(migrating.verify(&token), Err(TokenError::InvalidSignature));
    }
}

/// The DER bytes inside a PEM document.
fn split_pem_der(pem: &str) -> Vec<u8> {
    use base64::engine::general_purpose::STANDARD;
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

// Keys.

#[test]
fn a_token_naming_an_unknown_kid_or_none_is_an_unknown_key() {
    let issuer = hs256();
    let stranger = JwtTokenIssuer::hs256(OTHER_SECRET, ISSUER, AUDIENCE, clock()).unwrap();
    assert_eq!(
        issuer.verify(&issue(&stranger, &fresh_claims())),
        Err(TokenError::UnknownKey)
    );

    let (mut header, payload) = header_and_payload(&issuer, &fresh_claims());
    header.as_object_mut().unwrap().remove("kid");
    assert_eq!(
        issuer.verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::UnknownKey)
    );
    header["kid"] = json!("no-such-key");
    assert_eq!(
        issuer.verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn a_token_signed_by_an_old_listed_key_still_verifies() {
    let old = JwtTokenIssuer::hs256(OTHER_SECRET, ISSUER, AUDIENCE, clock()).unwrap();
    let rotated = hs256()
        .with_verification_key(VerificationKey::hs256(OTHER_SECRET).unwrap())
        .unwrap();
    let claims = fresh_claims();
    let old_token = issue(&old, &claims);
    assert_eq!(rotated.verify(&old_token), Ok(claims.clone()));
    // New tokens are signed with the new key only.
    let new_token = issue(&rotated, &claims);
    assert_eq!(split(&new_token).0["kid"], hs256().key_id());
    assert_eq!(old.verify(&new_token), Err(TokenError::UnknownKey));

    // Once the old key is removed from the list, its tokens name an unknown key.
    assert_eq!(hs256().verify(&old_token), Err(TokenError::UnknownKey));
}

#[test]
fn eddsa_rotation_keeps_old_tokens_until_the_key_is_removed() {
    let old_key = generated_key();
    let new_key = generated_key();
    let old = eddsa(&old_key);
    let claims = fresh_claims();
    let old_token = issue(&old, &claims);

    for listed in [
        VerificationKey::ed25519_from_pem(&old_key.public_pem).unwrap(),
        VerificationKey::ed25519_from_pem(&old_key.private_pem).unwrap(),
        VerificationKey::ed25519_from_bytes(&old_key.public_raw).unwrap(),
    ] {
        assert_eq!(listed.key_id(), old.key_id());
        let rotated = eddsa(&new_key).with_verification_key(listed).unwrap();
        assert_eq!(rotated.verify(&old_token), Ok(claims.clone()));
    }
    assert_eq!(
        eddsa(&new_key).verify(&old_token),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn a_token_naming_the_old_key_but_signed_by_the_new_one_is_an_invalid_signature() {
    let old_key = generated_key();
    let new_key = generated_key();
    let rotated = eddsa(&new_key)
        .with_verification_key(VerificationKey::ed25519_from_pem(&old_key.public_pem).unwrap())
        .unwrap();
    let (mut header, payload) = header_and_payload(&rotated, &fresh_claims());
    header["kid"] = json!(eddsa(&old_key).key_id());
    let token = sign(
        &header,
        &payload,
        &EncodingKey::from_ed_pem(new_key.private_pem.as_bytes()).unwrap(),
        Algorithm::EdDSA,
    );
    assert_eq!(rotated.verify(&token), Err(TokenError::InvalidSignature));
}

#[test]
fn moving_from_hs256_to_eddsa_keeps_hs256_tokens_valid() {
    let key = generated_key();
    let claims = fresh_claims();
    let old_token = issue(&hs256(), &claims);
    let migrated = eddsa(&key)
        .with_verification_key(VerificationKey::hs256(SECRET).unwrap())
        .unwrap();
    assert_eq!(migrated.verify(&old_token), Ok(claims.clone()));
    assert_eq!(migrated.verify(&issue(&migrated, &claims)), Ok(claims));
}

#[test]
fn a_configured_kid_is_used_and_checked_for_conflicts() {
    let issuer = hs256().with_key_id("2026-01").unwrap();
    let claims = fresh_claims();
    let token = issue(&issuer, &claims);
    assert_eq!(split(&token).0["kid"], "2026-01");
    assert_eq!(issuer.key_id(), "2026-01");
    assert_eq!(issuer.verify(&token), Ok(claims));
    // The derived name no longer designates the key.
    let (mut header, payload) = header_and_payload(&issuer, &fresh_claims());
    header["kid"] = json!(hs256().key_id());
    assert_eq!(
        issuer.verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::UnknownKey)
    );

    let other = VerificationKey::hs256(OTHER_SECRET)
        .unwrap()
        .with_key_id("2026-01")
        .unwrap();
    assert_eq!(
        hs256()
            .with_key_id("2026-01")
            .unwrap()
            .with_verification_key(other.clone())
            .unwrap_err(),
        JwtKeyError::DuplicateKeyId("2026-01".to_owned())
    );
    assert_eq!(
        hs256()
            .with_verification_key(other)
            .unwrap()
            .with_key_id("2026-01")
            .unwrap_err(),
        JwtKeyError::DuplicateKeyId("2026-01".to_owned())
    );
}

#[test]
fn listing_the_signing_key_again_is_harmless() {
    let issuer = hs256()
        .with_verification_key(VerificationKey::hs256(SECRET).unwrap())
        .unwrap();
    let claims = fresh_claims();
    assert_eq!(issuer.verify(&issue(&issuer, &claims)), Ok(claims));
}

// Claims checks.

#[test]
fn another_issuer_is_a_wrong_issuer() {
    let elsewhere =
        JwtTokenIssuer::hs256(SECRET, "https://elsewhere.test", AUDIENCE, clock()).unwrap();
    assert_eq!(
        hs256().verify(&issue(&elsewhere, &fresh_claims())),
        Err(TokenError::WrongIssuer)
    );
    let (header, mut payload) = header_and_payload(&hs256(), &fresh_claims());
    payload.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        hs256().verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::Malformed)
    );
}

#[test]
fn another_audience_is_a_wrong_audience() {
    let elsewhere = JwtTokenIssuer::hs256(SECRET, ISSUER, "other-api", clock()).unwrap();
    assert_eq!(
        hs256().verify(&issue(&elsewhere, &fresh_claims())),
        Err(TokenError::WrongAudience)
    );
    let (header, mut payload) = header_and_payload(&hs256(), &fresh_claims());
    payload["aud"] = json!(["other-api", "third-api"]);
    assert_eq!(
        hs256().verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::WrongAudience)
    );
}

#[test]
fn another_type_is_a_wrong_type() {
    let issuer = hs256();
    let (mut header, payload) = header_and_payload(&issuer, &fresh_claims());
    for typ in ["JWT", "rt+jwt", "application/jwt", "at+jwt+x"] {
        header["typ"] = json!(typ);
        assert_eq!(
            issuer.verify(&sign_hs256(&header, &payload, SECRET)),
            Err(TokenError::WrongType),
            "{typ}"
        );
    }
    header.as_object_mut().unwrap().remove("typ");
    assert_eq!(
        issuer.verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::WrongType)
    );
    // Media types compare case-insensitively, with or without the `application/` prefix.
    for typ in ["AT+JWT", "application/at+jwt", "Application/AT+JWT"] {
        header["typ"] = json!(typ);
        assert!(
            issuer
                .verify(&sign_hs256(&header, &payload, SECRET))
                .is_ok(),
            "{typ}"
        );
    }
}

#[test]
fn a_token_past_its_exp_is_expired() {
    let issuer = hs256();
    let expired = claims_at(now() - TimeDuration::hours(2), TimeDuration::hours(1));
    assert_eq!(
        issuer.verify(&issue(&issuer, &expired)),
        Err(TokenError::Expired)
    );
}

#[test]
fn the_leeway_absorbs_small_clock_skew_and_is_configurable() {
    let just_expired = claims_at(
        now() - TimeDuration::minutes(15),
        TimeDuration::seconds(890),
    );
    let token = issue(&hs256(), &just_expired);
    assert_eq!(hs256().verify(&token), Ok(just_expired));
    assert_eq!(
        hs256().with_leeway(Duration::ZERO).verify(&token),
        Err(TokenError::Expired)
    );

    let early = claims_at(now() + TimeDuration::seconds(10), TimeDuration::minutes(15));
    let token = issue(&hs256(), &early);
    assert_eq!(hs256().verify(&token), Ok(early));
    assert_eq!(
        hs256().with_leeway(Duration::ZERO).verify(&token),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn a_token_before_its_nbf_is_not_yet_valid() {
    let issuer = hs256();
    let future = claims_at(now() + TimeDuration::hours(1), TimeDuration::minutes(15));
    assert_eq!(
        issuer.verify(&issue(&issuer, &future)),
        Err(TokenError::NotYetValid)
    );

    // Without an `nbf`, a token is not valid before its `iat`.
    let (header, mut payload) = header_and_payload(&issuer, &future);
    payload.as_object_mut().unwrap().remove("nbf");
    assert_eq!(
        issuer.verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::NotYetValid)
    );
    let (header, mut payload) = header_and_payload(&issuer, &fresh_claims());
    payload.as_object_mut().unwrap().remove("nbf");
    assert!(
        issuer
            .verify(&sign_hs256(&header, &payload, SECRET))
            .is_ok()
    );
}

#[test]
fn a_token_issued_in_the_future_is_not_yet_valid_whatever_its_nbf() {
    let issuer = hs256();
    let (header, mut payload) = header_and_payload(&issuer, &fresh_claims());
    payload["iat"] = Value::from(NOW + 3600);
    assert_eq!(
        issuer.verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn a_token_living_longer_than_the_configured_lifetime_is_refused() {
    // Ten years ahead, signed with our own key: accepted by the signature, refused by its
    // lifetime.
    let issuer = hs256();
    let decade = claims_at(now(), TimeDuration::days(3650));
    assert_eq!(
        issuer.verify(&issue(&issuer, &decade)),
        Err(TokenError::TooLongLived)
    );

    // The default admits an hour; a configured lifetime admits exactly itself, rounded up to
    // the second, and no more.
    let hour = claims_at(now(), TimeDuration::hours(1));
    assert_eq!(issuer.verify(&issue(&issuer, &hour)), Ok(hour.clone()));
    let fifteen_minutes = hs256().with_max_lifetime(Duration::from_mins(15));
    let fresh = fresh_claims();
    assert_eq!(
        fifteen_minutes.verify(&issue(&issuer, &fresh)),
        Ok(fresh.clone())
    );
    assert_eq!(
        fifteen_minutes.verify(&issue(&issuer, &hour)),
        Err(TokenError::TooLongLived)
    );
    let fractional = hs256().with_max_lifetime(Duration::from_millis(899_500));
    assert_eq!(fractional.verify(&issue(&issuer, &fresh)), Ok(fresh));

    // An expired token is reported as expired, however long it lived.
    let old = claims_at(now() - TimeDuration::days(400), TimeDuration::days(365));
    assert_eq!(
        issuer.verify(&issue(&issuer, &old)),
        Err(TokenError::Expired)
    );
}

// Malformed tokens.

#[test]
fn tokens_of_the_wrong_shape_are_malformed() {
    let issuer = hs256();
    let token = issue(&issuer, &fresh_claims());
    let oversized = format!("{token}{}", "A".repeat(MAX_TOKEN_LEN));
    for garbage in [
        "",
        "not a token",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "...",
        &format!("{token}.extra"),
        &format!("!{token}"),
        &format!(
            "{}.{}.",
            encode_part(&json!("a string")),
            encode_part(&json!({}))
        ),
        &format!("{}.e30.", URL_SAFE_NO_PAD.encode(b"{not json")),
        &oversized,
    ] {
        assert_eq!(
            issuer.verify(garbage),
            Err(TokenError::Malformed),
            "{garbage}"
        );
    }
}

#[test]
fn a_header_with_critical_extensions_is_malformed() {
    let issuer = hs256();
    let (mut header, payload) = header_and_payload(&issuer, &fresh_claims());
    header["crit"] = json!(["exp"]);
    assert_eq!(
        issuer.verify(&sign_hs256(&header, &payload, SECRET)),
        Err(TokenError::Malformed)
    );
}

#[test]
fn signed_claims_that_do_not_parse_are_malformed() {
    let issuer = hs256();
    let (header, payload) = header_and_payload(&issuer, &fresh_claims());
    let edits: [(&str, Value); 11] = [
        ("sub", json!("42")),
        ("sub", Value::Null),
        ("sid", json!("not-a-uuid")),
        ("role", json!("superuser")),
        ("role", json!("Admin")),
        ("jti", json!("x")),
        ("iat", json!("yesterday")),
        ("exp", json!("tomorrow")),
        ("exp", json!(-1)),
        ("exp", json!(i64::MAX)),
        ("sid", json!(7)),
    ];
    for (claim, value) in edits {
        let mut edited = payload.clone();
        edited[claim] = value.clone();
        assert_eq!(
            issuer.verify(&sign_hs256(&header, &edited, SECRET)),
            Err(TokenError::Malformed),
            "{claim} = {value}"
        );
    }
    for claim in ["sub", "sid", "role", "iat", "exp", "jti"] {
        let mut edited = payload.clone();
        edited.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            issuer.verify(&sign_hs256(&header, &edited, SECRET)),
            Err(TokenError::Malformed),
            "without {claim}"
        );
    }
    let not_an_object = sign_hs256(&header, &json!(["a", "list"]), SECRET);
    assert_eq!(issuer.verify(&not_an_object), Err(TokenError::Malformed));
}

// JWKS.

#[test]
fn the_jwks_publishes_the_ed25519_public_key_as_an_rfc_8037_jwk() {
    let issuer =
        JwtTokenIssuer::ed25519_from_pem(OPENSSL_PRIVATE_PEM, ISSUER, AUDIENCE, clock()).unwrap();
    let jwks = issuer.jwks().unwrap();
    assert_eq!(
        jwks,
        json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": OPENSSL_PUBLIC_X,
                "kid": issuer.key_id(),
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
    );
    assert!(
        !jwks.to_string().contains("\"d\""),
        "no private part: {jwks}"
    );

    // The kid is the key's RFC 7638 thumbprint, as any JWK library computes it.
    let set: JwkSet = serde_json::from_value(jwks).unwrap();
    assert_eq!(
        set.keys[0].thumbprint(ThumbprintHash::SHA256).unwrap(),
        issuer.key_id()
    );
    assert_eq!(
        VerificationKey::ed25519_from_pem(OPENSSL_PUBLIC_PEM)
            .unwrap()
            .key_id(),
        issuer.key_id()
    );
}

#[test]
fn another_service_verifies_our_tokens_with_the_jwks_alone() {
    let issuer = eddsa(&generated_key());
    let set: JwkSet = serde_json::from_value(issuer.jwks().unwrap()).unwrap();
    let token = issue(&issuer, &fresh_claims());

    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = set.find(&kid).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    // jsonwebtoken reads the system clock, and the token was issued at the tests' fixed time.
    validation.validate_exp = false;
    let decoded =
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap();
    assert_eq!(decoded.claims["iss"], ISSUER);
}

#[test]
fn the_jwks_lists_retired_ed25519_keys_after_the_signing_key_and_never_hmac_secrets() {
    let retired = generated_key();
    let issuer = eddsa(&generated_key())
        .with_verification_key(VerificationKey::ed25519_from_pem(&retired.public_pem).unwrap())
        .unwrap()
        .with_verification_key(VerificationKey::hs256(SECRET).unwrap())
        .unwrap();
    let jwks = issuer.jwks().unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [issuer.key_id(), eddsa(&retired).key_id()]);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|key| key["kty"] == "OKP" && key.get("k").is_none()),
        "{jwks}"
    );

    assert_eq!(hs256().jwks(), None);
    let hmac_with_old_ed25519 = hs256()
        .with_verification_key(VerificationKey::ed25519_from_pem(&retired.public_pem).unwrap())
        .unwrap();
    assert_eq!(
        hmac_with_old_ed25519.jwks().unwrap()["keys"][0]["kid"],
        eddsa(&retired).key_id()
    );
}

// Construction.

#[test]
fn construction_refuses_bad_keys_and_settings_clearly() {
    assert_eq!(
        JwtTokenIssuer::hs256(&SECRET[..31], ISSUER, AUDIENCE, clock()).unwrap_err(),
        JwtKeyError::SecretTooShort { length: 31 }
    );
    assert!(JwtTokenIssuer::hs256(&SECRET[..32], ISSUER, AUDIENCE, clock()).is_ok());
    assert_eq!(
        JwtTokenIssuer::hs256(SECRET, "", AUDIENCE, clock()).unwrap_err(),
        JwtKeyError::Empty("issuer")
    );
    assert_eq!(
        JwtTokenIssuer::hs256(SECRET, ISSUER, " ", clock()).unwrap_err(),
        JwtKeyError::Empty("audience")
    );
    for not_a_private_key in [
        OPENSSL_PUBLIC_PEM,
        "",
        "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
    ] {
        let error = JwtTokenIssuer::ed25519_from_pem(not_a_private_key, ISSUER, AUDIENCE, clock())
            .unwrap_err();
        assert!(matches!(error, JwtKeyError::InvalidKey { .. }), "{error:?}");
    }
}

#[test]
fn debug_output_names_keys_but_never_shows_them() {
    let issuer = hs256();
    let rendered = format!("{issuer:?}");
    assert!(rendered.contains(issuer.key_id()), "{rendered}");
    assert!(!rendered.contains("test secret"), "{rendered}");

    let key = generated_key();
    let rendered = format!("{:?}", eddsa(&key));
    let private_base64 = key.private_pem.lines().nth(1).unwrap();
    assert!(!rendered.contains(private_base64), "{rendered}");
}

proptest::proptest! {
    /// Whatever a client sends as a bearer token, verification answers with an error, never a
    /// panic: arbitrary text, and three dot-separated parts of base64url noise.
    #[test]
    fn verifying_arbitrary_input_never_panics(raw in "\\PC{0,400}") {
        proptest::prop_assert!(hs256().verify(&raw).is_err());
    }

    #[test]
    fn verifying_token_shaped_noise_never_panics(
        header in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
        payload in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        signature in "[A-Za-z0-9_-]{0,90}",
    ) {
        let token = format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(&header),
            URL_SAFE_NO_PAD.encode(&payload)
        );
        proptest::prop_assert!(hs256().verify(&token).is_err());
    }

    /// A header and payload of the right shape, with any claim values, signed with the right
    /// key: whatever the values, an answer (accept or refuse), never a panic.
    #[test]
    fn signed_tokens_with_any_claim_values_never_panic(
        exp in proptest::num::i64::ANY,
        iat in proptest::num::i64::ANY,
        nbf in proptest::option::of(proptest::num::i64::ANY),
        sub in "\\PC{0,40}",
        typ in "\\PC{0,10}",
    ) {
        let mut payload = json!({
            "sub": sub, "sid": sub, "role": "user", "iat": iat, "exp": exp,
            "iss": ISSUER, "aud": AUDIENCE, "jti": "x",
        });
        if let Some(nbf) = nbf {
            payload["nbf"] = json!(nbf);
        }
        let header = json!({"alg": "HS256", "typ": typ});
        let key = EncodingKey::from_secret(SECRET);
        let _ = hs256().verify(&sign(&header, &payload, &key, Algorithm::HS256));
    }
}
