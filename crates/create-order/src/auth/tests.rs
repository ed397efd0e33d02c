use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use lambda_http::http::HeaderValue;
use serde_json::{Value, json};

use super::testing::{KID, TestIssuer};
use super::*;

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

async fn authenticate(issuer: &TestIssuer, token: &str) -> Result<Caller, AuthError> {
    issuer
        .authenticator()
        .authenticate(Some(&bearer(token)))
        .await
}

/// The reason a token was refused, asserting it was a 401.
async fn refusal(issuer: &TestIssuer, claims: &Value) -> String {
    match authenticate(issuer, &issuer.sign(claims)).await {
        Err(AuthError::Unauthenticated {
            reason,
            token_given,
        }) => {
            assert!(token_given);
            reason
        }
        other => panic!("expected a 401, got {other:?}"),
    }
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(name);
    } else {
        claims[name] = value;
    }
    claims
}

#[tokio::test]
async fn a_valid_token_names_the_customer_by_its_subject() {
    let issuer = TestIssuer::new();
    let caller = authenticate(&issuer, &issuer.token("alice")).await.unwrap();
    assert_eq!(
        caller,
        Caller {
            customer_id: "alice".into(),
            subject: "alice".into(),
            operator: false
        }
    );
    assert!(caller.may_read(Some("alice")));
    assert!(!caller.may_read(Some("bob")));
    assert!(
        !caller.may_read(None),
        "orders from before sign-in are the operators'"
    );
}

#[tokio::test]
async fn a_member_of_the_operator_group_may_read_every_order() {
    let issuer = TestIssuer::new();
    let caller = authenticate(&issuer, &issuer.operator_token("ops"))
        .await
        .unwrap();
    assert!(caller.operator);
    assert!(caller.may_read(Some("bob")) && caller.may_read(None));

    let other_group = with(
        TestIssuer::claims("eve"),
        "cognito:groups",
        json!(["operators-x"]),
    );
    let caller = authenticate(&issuer, &issuer.sign(&other_group))
        .await
        .unwrap();
    assert!(!caller.operator);
}

#[tokio::test]
async fn the_deployment_may_name_the_customer_by_another_claim() {
    let issuer = TestIssuer::new();
    let mut settings = testing::settings();
    settings.customer_id_claim = "cognito:username".into();
    let authenticator = Authenticator::new(settings, issuer.keys());
    let claims = with(
        TestIssuer::claims("alice"),
        "sub",
        json!("0b4f6a1e-9c2d-4e8f-b1a3-5d7c9e2f4a6b"),
    );
    let caller = authenticator
        .authenticate(Some(&bearer(&issuer.sign(&claims))))
        .await
        .unwrap();
    assert_eq!(caller.customer_id, "alice");
    assert_eq!(caller.subject, "0b4f6a1e-9c2d-4e8f-b1a3-5d7c9e2f4a6b");
}

#[tokio::test]
async fn no_header_is_a_401_that_says_a_token_is_needed() {
    let issuer = TestIssuer::new();
    let refused = issuer.authenticator().authenticate(None).await.unwrap_err();
    assert!(matches!(
        refused,
        AuthError::Unauthenticated {
            token_given: false,
            ..
        }
    ));
}

#[tokio::test]
async fn a_header_that_is_not_a_bearer_jwt_is_a_401() {
    let issuer = TestIssuer::new();
    let authenticator = issuer.authenticator();
    let token = issuer.token("alice");
    for header in [
        format!("Basic {token}"),
        token.clone(),
        "Bearer ".into(),
        "Bearer not-a-jwt".into(),
        "Bearer a.b.c".into(),
    ] {
        let refused = authenticator
            .authenticate(Some(&HeaderValue::from_str(&header).unwrap()))
            .await;
        assert!(
            matches!(
                refused,
                Err(AuthError::Unauthenticated {
                    token_given: true,
                    ..
                })
            ),
            "{header}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_a_401() {
    let issuer = TestIssuer::new();
    let now = chrono::Utc::now().timestamp();
    let expired = with(TestIssuer::claims("alice"), "exp", json!(now - 120));
    assert_eq!(refusal(&issuer, &expired).await, "the token has expired");
    let no_expiry = with(TestIssuer::claims("alice"), "exp", Value::Null);
    assert_eq!(
        refusal(&issuer, &no_expiry).await,
        "the token has no exp claim"
    );
}

#[tokio::test]
async fn a_token_not_valid_yet_is_a_401() {
    let issuer = TestIssuer::new();
    let now = chrono::Utc::now().timestamp();
    let early = with(TestIssuer::claims("alice"), "nbf", json!(now + 600));
    assert_eq!(
        refusal(&issuer, &early).await,
        "the token is not valid yet (nbf)"
    );
}

#[tokio::test]
async fn a_token_of_another_issuer_or_audience_is_a_401() {
    let issuer = TestIssuer::new();
    let foreign = with(
        TestIssuer::claims("alice"),
        "iss",
        json!("https://elsewhere.example.com"),
    );
    assert_eq!(
        refusal(&issuer, &foreign).await,
        "the token was issued by another issuer"
    );
    for aud in [json!("another-app"), json!(["another-app"]), json!(7)] {
        let claims = with(TestIssuer::claims("alice"), "aud", aud);
        assert_eq!(
            refusal(&issuer, &claims).await,
            "the token is for another audience"
        );
    }
}

#[tokio::test]
async fn a_token_without_aud_is_for_us_when_its_client_id_is() {
    let issuer = TestIssuer::new();
    let no_aud = with(TestIssuer::claims("alice"), "aud", Value::Null);
    let ours = with(no_aud.clone(), "client_id", json!(testing::AUDIENCE));
    assert!(authenticate(&issuer, &issuer.sign(&ours)).await.is_ok());
    let theirs = with(no_aud.clone(), "client_id", json!("another-app"));
    assert_eq!(
        refusal(&issuer, &theirs).await,
        "the token is for another audience"
    );
    assert_eq!(
        refusal(&issuer, &no_aud).await,
        "the token is for another audience"
    );
}

#[tokio::test]
async fn an_access_token_is_a_401() {
    let issuer = TestIssuer::new();
    let access = with(TestIssuer::claims("alice"), "token_use", json!("access"));
    assert_eq!(
        refusal(&issuer, &access).await,
        "the token is not an ID token"
    );
    let unset = with(TestIssuer::claims("alice"), "token_use", Value::Null);
    assert!(authenticate(&issuer, &issuer.sign(&unset)).await.is_ok());
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_a_401() {
    let issuer = TestIssuer::new();
    let impostor = TestIssuer::new();
    let forged = impostor.sign(&TestIssuer::claims("alice"));
    assert!(matches!(
        authenticate(&issuer, &forged).await,
        Err(AuthError::Unauthenticated { reason, .. }) if reason == "the token's signature is invalid"
    ));
    let unknown_kid = issuer.sign_with_kid(&TestIssuer::claims("alice"), "key-2");
    assert!(matches!(
        authenticate(&issuer, &unknown_kid).await,
        Err(AuthError::Unauthenticated { reason, .. }) if reason == "the token was not signed by a key of the issuer"
    ));
}

#[tokio::test]
async fn a_tampered_token_is_a_401() {
    let issuer = TestIssuer::new();
    let token = issuer.token("alice");
    let (signed, _) = token.rsplit_once('.').unwrap();
    let (header, _) = signed.split_once('.').unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&TestIssuer::claims("bob")).unwrap());
    let signature = token.rsplit_once('.').unwrap().1;
    let tampered = format!("{header}.{payload}.{signature}");
    assert!(matches!(
        authenticate(&issuer, &tampered).await,
        Err(AuthError::Unauthenticated { reason, .. }) if reason == "the token's signature is invalid"
    ));
}

#[tokio::test]
async fn unsigned_and_shared_secret_tokens_are_a_401() {
    let issuer = TestIssuer::new();
    let claims = TestIssuer::claims("alice");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(KID.into());
    let hmac = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"anyone can sign").unwrap(),
    )
    .unwrap();
    assert!(matches!(
        authenticate(&issuer, &hmac).await,
        Err(AuthError::Unauthenticated { reason, .. }) if reason.contains("not accepted")
    ));
    let unsigned_header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"key-1"}"#);
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&claims).unwrap());
    let unsigned = format!("{unsigned_header}.{payload}.");
    assert!(matches!(
        authenticate(&issuer, &unsigned).await,
        Err(AuthError::Unauthenticated { .. })
    ));
}

#[tokio::test]
async fn a_subject_that_is_no_customer_id_is_a_403() {
    let issuer = TestIssuer::new();
    let token = issuer.token("auth0|5f7c8ec7c33c6c004bbafe82");
    assert!(matches!(
        authenticate(&issuer, &token).await,
        Err(AuthError::Forbidden(reason)) if reason.contains("sub claim")
    ));
}

#[test]
fn only_signing_keys_of_accepted_algorithms_are_taken_from_a_jwks() {
    let set: JwkSet = serde_json::from_value(json!({"keys": [
        // Cognito's shape: RSA, RS256, for signing.
        {"kid": "rsa", "kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB",
         "n": "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw"},
        {"kid": "ec", "kty": "EC", "crv": "P-256",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
         "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kid": "encryption", "kty": "EC", "crv": "P-256", "use": "enc",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
         "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kid": "p384", "kty": "EC", "crv": "P-384", "alg": "ES384",
         "x": "ahJ3xQlUnl0bwu9eoyt4ckc8R8t0sH4DvsbBmmYDBq2nTKKu6_exg2J7grKCYC8Q",
         "y": "v9mFDVBKx4G9cQ2IB3mTzqNhqBt0KcjKg0lcMmSq0p8tG-4x3blVXbmJkKd3J9nT"},
        {"kty": "RSA", "alg": "RS256", "e": "AQAB", "n": "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw"}
    ]}))
    .unwrap();
    let keys = jwks::verification_keys(&set);
    let mut kids: Vec<(&str, Algorithm)> = keys
        .iter()
        .map(|(kid, key)| (kid.as_str(), key.algorithm))
        .collect();
    kids.sort_by_key(|(kid, _)| *kid);
    assert_eq!(kids, [("ec", Algorithm::ES256), ("rsa", Algorithm::RS256)]);
}
