//! Who may do what, end to end against the deployed API: every order route needs a valid token
//! (signed by the stack's issuer, for its audience, in its lifetime), and a customer sees, lists
//! and places only their own orders; an operator reads everyone's.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Customer, FLOW, Reply, World, eventually, token, token_claims, unique_id};
use serde_json::{Value, json};

/// A customer of this test's own, and their token: on the local stack the name is the customer
/// id (the token's `sub`).
fn someone(world: &World, who: &str) -> (String, Customer) {
    let name = unique_id(&format!("e2e-{who}"));
    let customer = world.customer(&name);
    (name, customer)
}

/// A customer with an order of their own (placed and read back with their valid token, so that
/// the refusals below are about the token alone): the customer's name, the customer, and the id
/// their order was placed with.
async fn an_owner_with_an_order(world: &World) -> (String, Customer, String) {
    let (name, owner) = someone(world, "owner");
    let id = unique_id("e2e-owned");
    let placed = world
        .post_as(
            &owner,
            "/orders",
            &json!({"id": id, "amount": 10}).to_string(),
        )
        .await;
    assert_eq!(placed.status, 202, "{:?}", placed.body);
    let read = world.get_as(&owner, &format!("/orders/{id}")).await;
    assert_eq!(
        read.status, 200,
        "the owner's valid token reads it: {:?}",
        read.body
    );
    let listed = world
        .get_as(&owner, &format!("/customers/{}/orders", owner.id))
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    (name, owner, id)
}

/// The keys (each once, sorted) of the event store's items whose key contains `marker`, read
/// consistently: the orders stored with an id, in anyone's scope.
async fn stored_anywhere(world: &World, marker: &str) -> Vec<String> {
    let pages = world
        .dynamodb
        .scan()
        .table_name(&world.stack.event_store_table)
        .filter_expression("contains(aggregateId, :marker)")
        .expression_attribute_values(":marker", AttributeValue::S(marker.to_owned()))
        .consistent_read(true)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    pages
        .into_iter()
        .flat_map(|page| {
            page.expect("scan the event store")
                .items
                .unwrap_or_default()
        })
        .filter_map(|item| item.get("aggregateId")?.as_s().ok().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A refused sign-in: 401, a JSON error body, and a `WWW-Authenticate: Bearer` challenge (which
/// on the local stack, where the function answers, says why a token given was refused).
fn assert_unauthorized(world: &World, reply: &Reply, token_given: bool, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {:?}", reply.body);
    assert_eq!(
        reply.body["error"], "unauthorized",
        "{what}: {:?}",
        reply.body
    );
    assert!(
        reply.body["message"].is_string(),
        "{what}: {:?}",
        reply.body
    );
    assert!(
        reply.body.get("orders").is_none() && reply.body.get("amount").is_none(),
        "{what}: no order in a refusal: {:?}",
        reply.body
    );
    let challenge = reply
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate header: {:?}", reply.headers));
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
    if token_given && world.stack.endpoint.is_some() {
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{what}: {challenge}"
        );
    }
}

/// Sends every order route a request with this `Authorization` header (or none), about the
/// owner's order and list: each is refused with 401, and neither POST wrote anything, in anyone's
/// scope.
async fn refused_everywhere(
    world: &World,
    owner: &Customer,
    owned_id: &str,
    authorization: Option<&str>,
    what: &str,
) {
    let headers: Vec<(&str, &str)> = authorization
        .map(|value| ("authorization", value))
        .into_iter()
        .collect();
    let marker = unique_id("e2e-refused");
    for path in ["/orders", "/order"] {
        let id = format!("{marker}{}", path.replace('/', "-"));
        let body = json!({"id": id, "amount": 10, "customerId": owner.id}).to_string();
        let reply = world.request("POST", path, Some(&body), &headers).await;
        assert_unauthorized(
            world,
            &reply,
            authorization.is_some(),
            &format!("{what}: POST {path}"),
        );
        assert_eq!(
            world.order_view(&owner.order_key(&id)).await,
            None,
            "{what}: no view for {id}"
        );
    }
    for path in [
        format!("/orders/{}", owner.order_key(owned_id)),
        format!("/orders/{owned_id}"),
        format!("/customers/{}/orders", owner.id),
    ] {
        let reply = world.request("GET", &path, None, &headers).await;
        assert_unauthorized(
            world,
            &reply,
            authorization.is_some(),
            &format!("{what}: GET {path}"),
        );
    }
    let written = stored_anywhere(world, &marker).await;
    assert!(
        written.is_empty(),
        "{what}: nothing written, but {written:?}"
    );
}

/// The number of seconds since the epoch, as tokens count time.
fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_without_a_token_gets_401_on_every_order_route_and_writes_nothing() {
    let world = World::connect().await;
    let (_, owner, id) = an_owner_with_an_order(&world).await;
    refused_everywhere(&world, &owner, &id, None, "no token").await;
    // The challenge names the scheme alone: no token was given, so none is said to be invalid.
    let reply = world
        .request("GET", &format!("/orders/{id}"), None, &[])
        .await;
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_garbage_token_gets_401_on_every_order_route_and_writes_nothing() {
    let world = World::connect().await;
    let (_, owner, id) = an_owner_with_an_order(&world).await;
    let garbage = [
        ("not a JWT", "Bearer not-a-jwt".to_owned()),
        (
            "three parts that are no JWT",
            "Bearer aGVsbG8.d29ybGQ.c2lnbmF0dXJl".to_owned(),
        ),
        // {"alg":"ES256","typ":"JWT"}, {} and a made-up signature: no key named, no claims.
        (
            "a JWT without a key id or claims",
            "Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2lnbmF0dXJl".to_owned(),
        ),
        (
            "a valid token without the Bearer scheme",
            owner.token.clone(),
        ),
        ("Basic credentials", "Basic ZTJlOmUyZQ==".to_owned()),
    ];
    for (what, authorization) in &garbage {
        refused_everywhere(&world, &owner, &id, Some(authorization), what).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_gets_401_on_every_order_route_and_writes_nothing() {
    let world = World::connect().await;
    let (name, owner, id) = an_owner_with_an_order(&world).await;
    let expired = token(&world.stack, &["--lifetime", "-600", &name]);
    let claims = token_claims(&expired);
    assert_eq!(claims["sub"], json!(owner.id), "{claims}");
    assert!(
        claims["exp"].as_i64().expect("exp") < now() - 300,
        "expired 10 minutes ago: {claims}"
    );
    let authorization = format!("Bearer {expired}");
    refused_everywhere(
        &world,
        &owner,
        &id,
        Some(&authorization),
        "an expired token",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_for_another_audience_gets_401_on_every_order_route_and_writes_nothing() {
    let world = World::connect().await;
    let (name, owner, id) = an_owner_with_an_order(&world).await;
    let foreign = token(&world.stack, &["--audience", "another-app-client", &name]);
    let claims = token_claims(&foreign);
    assert_eq!(claims["aud"], "another-app-client", "{claims}");
    assert_eq!(claims["sub"], json!(owner.id), "{claims}");
    let authorization = format!("Bearer {foreign}");
    refused_everywhere(
        &world,
        &owner,
        &id,
        Some(&authorization),
        "a token for another audience",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_of_another_issuer_gets_401_on_every_order_route_and_writes_nothing() {
    let world = World::connect().await;
    let (name, owner, id) = an_owner_with_an_order(&world).await;
    let issuer = "https://issuer.example.com/another-issuer";
    let foreign = token(&world.stack, &["--issuer", issuer, &name]);
    let claims = token_claims(&foreign);
    assert_eq!(claims["iss"], issuer, "{claims}");
    assert_ne!(
        claims["iss"],
        token_claims(&owner.token)["iss"],
        "the stack's issuer is another"
    );
    let authorization = format!("Bearer {foreign}");
    refused_everywhere(
        &world,
        &owner,
        &id,
        Some(&authorization),
        "a token of another issuer",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_a_bad_signature_gets_401_on_every_order_route_and_writes_nothing() {
    let world = World::connect().await;
    let (name, owner, id) = an_owner_with_an_order(&world).await;
    let parts: Vec<&str> = owner.token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT: {}", owner.token);
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);

    // One character of the signature changed (in its middle: the last one carries padding bits).
    let mut changed: Vec<char> = signature.chars().collect();
    let middle = changed.len() / 2;
    changed[middle] = if changed[middle] == 'A' { 'B' } else { 'A' };
    let changed: String = changed.into_iter().collect();
    // A real signature of the issuer's key, but of another token's contents.
    let other = token(&world.stack, &["--lifetime", "7200", &name]);
    let borrowed = other.split('.').nth(2).expect("a signature").to_owned();
    assert_ne!(borrowed, signature);
    // No signature at all, saying so: `alg: none`.
    let unsigned_header = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    };
    let cases = [
        (
            "a signature with one character changed",
            format!("Bearer {header}.{payload}.{changed}"),
        ),
        (
            "another token's signature",
            format!("Bearer {header}.{payload}.{borrowed}"),
        ),
        (
            "an unsigned token (alg none)",
            format!("Bearer {unsigned_header}.{payload}."),
        ),
    ];
    for (what, authorization) in &cases {
        refused_everywhere(&world, &owner, &id, Some(authorization), what).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_not_valid_yet_gets_401_on_every_order_route_and_writes_nothing() {
    let world = World::connect().await;
    let (name, owner, id) = an_owner_with_an_order(&world).await;
    let early = token(&world.stack, &["--not-before", "600", &name]);
    let claims = token_claims(&early);
    assert!(
        claims["nbf"].as_i64().expect("nbf") > now() + 300,
        "valid in 10 minutes: {claims}"
    );
    let authorization = format!("Bearer {early}");
    refused_everywhere(
        &world,
        &owner,
        &id,
        Some(&authorization),
        "a token not valid yet",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_description_needs_no_token() {
    let world = World::connect().await;
    let response = reqwest::Client::new()
        .get(format!("{}/openapi.yaml", world.stack.api))
        .send()
        .await
        .expect("GET /openapi.yaml");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.contains("yaml"), "{content_type}");
    let text = response.text().await.expect("the document");
    assert!(
        text.starts_with("openapi:"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(
        text.contains("bearer"),
        "the document describes the sign-in"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_customers_order_is_answered_exactly_like_a_missing_one() {
    let world = World::connect().await;
    let (_, alice) = someone(&world, "alice");
    let (_, bob) = someone(&world, "bob");
    let id = unique_id("e2e-private");
    let key = alice.order_key(&id);
    let placed = world
        .post_as(
            &alice,
            "/orders",
            &json!({"id": id, "amount": 10}).to_string(),
        )
        .await;
    assert_eq!(placed.status, 202, "{:?}", placed.body);
    assert_eq!(
        world.get_as(&alice, &format!("/orders/{key}")).await.status,
        200
    );

    // Bob asks for Alice's order by its key, and for one of hers that does not exist: the same
    // answer but for the id he asked about.
    let missing_key = alice.order_key(unique_id("e2e-missing"));
    let hers = world.get_as(&bob, &format!("/orders/{key}")).await;
    let missing = world.get_as(&bob, &format!("/orders/{missing_key}")).await;
    assert_eq!(hers.status, 404, "{:?}", hers.body);
    assert_eq!(missing.status, 404, "{:?}", missing.body);
    let as_if = |reply: &Reply, asked: &str| {
        let text = reply.body.to_string().replace(asked, "{id}");
        serde_json::from_str::<Value>(&text).unwrap()
    };
    assert_eq!(as_if(&hers, &key), as_if(&missing, &missing_key));
    assert_eq!(hers.header("content-type"), missing.header("content-type"));
    assert!(
        !hers.body.to_string().contains("amount"),
        "nothing of the order: {:?}",
        hers.body
    );
    // By the id she gave it, he asks about his own order of that id: there is none.
    let his = world.get_as(&bob, &format!("/orders/{id}")).await;
    assert_eq!(his.status, 404, "{:?}", his.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_customer_cannot_list_a_customers_orders() {
    let world = World::connect().await;
    let (_, alice) = someone(&world, "alice");
    let (_, bob) = someone(&world, "bob");
    let id = unique_id("e2e-listed");
    let placed = world
        .post_as(
            &alice,
            "/orders",
            &json!({"id": id, "amount": 10}).to_string(),
        )
        .await;
    assert_eq!(placed.status, 202, "{:?}", placed.body);

    for path in [
        format!("/customers/{}/orders", alice.id),
        format!("/customers/{}/orders?limit=1", alice.id),
    ] {
        let reply = world.get_as(&bob, &path).await;
        assert_eq!(reply.status, 403, "{path}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "forbidden");
        assert!(reply.body.get("orders").is_none(), "{:?}", reply.body);
    }
    // His own list he may read.
    let own = world
        .get_as(&bob, &format!("/customers/{}/orders", bob.id))
        .await;
    assert_eq!(own.status, 200, "{:?}", own.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_customer_cannot_place_an_order_in_a_customers_name_and_nothing_is_written() {
    let world = World::connect().await;
    let (_, alice) = someone(&world, "alice");
    let (_, bob) = someone(&world, "bob");
    let id = unique_id("e2e-impostor");
    for path in ["/orders", "/order"] {
        let body = json!({"id": id, "amount": 10, "customerId": alice.id}).to_string();
        let reply = world.post_as(&bob, path, &body).await;
        assert_eq!(reply.status, 403, "{path}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "forbidden");
    }
    let written = stored_anywhere(&world, &id).await;
    assert!(written.is_empty(), "nothing written, but {written:?}");
    assert_eq!(world.order_view(&alice.order_key(&id)).await, None);

    // In his own name, the same order is his.
    let body = json!({"id": id, "amount": 10, "customerId": bob.id}).to_string();
    let reply = world.post_as(&bob, "/orders", &body).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(reply.body["id"], json!(bob.order_key(&id)));
    assert_eq!(stored_anywhere(&world, &id).await, [bob.order_key(&id)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_id_another_customer_placed_first_is_still_free_for_a_customer() {
    let world = World::connect().await;
    let (_, alice) = someone(&world, "alice");
    let (_, bob) = someone(&world, "bob");
    let id = unique_id("e2e-taken");

    let first = world
        .post_as(&bob, "/orders", &json!({"id": id, "amount": 7}).to_string())
        .await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let body = json!({"id": id, "amount": 8}).to_string();
    let second = world.post_as(&alice, "/orders", &body).await;
    assert_eq!(second.status, 202, "not blocked: {:?}", second.body);
    assert_eq!(first.body["id"], json!(bob.order_key(&id)));
    assert_eq!(second.body["id"], json!(alice.order_key(&id)));
    // And her retry is a retry, not a conflict with his order.
    let again = world.post_as(&alice, "/orders", &body).await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    assert_eq!(again.body, second.body);

    // Two orders, each its customer's own.
    let mut expected = vec![alice.order_key(&id), bob.order_key(&id)];
    expected.sort();
    assert_eq!(stored_anywhere(&world, &id).await, expected);
    for (customer, amount) in [(&alice, 8), (&bob, 7)] {
        let created = &world.stored_events(&customer.order_key(&id)).await[0];
        let detail: Value = serde_json::from_str(created["detail"].as_s().unwrap()).unwrap();
        assert_eq!(detail["data"]["customerId"], json!(customer.id), "{detail}");
        assert_eq!(detail["data"]["amount"], json!(amount), "{detail}");
        let read = world.get_as(customer, &format!("/orders/{id}")).await;
        assert_eq!(read.status, 200, "{:?}", read.body);
        assert_eq!(read.body["id"], json!(customer.order_key(&id)));
        assert_eq!(read.body["amount"], json!(amount));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_order_completes_with_their_token_and_the_operator_reads_and_lists_it() {
    let world = World::connect().await;
    let (_, alice) = someone(&world, "alice");
    let id = unique_id("e2e-mine");
    let key = alice.order_key(&id);
    let placed = world
        .post_as(
            &alice,
            "/orders",
            &json!({"id": id, "amount": 100}).to_string(),
        )
        .await;
    assert_eq!(placed.status, 202, "{:?}", placed.body);
    assert_eq!(
        placed.header("location"),
        Some(format!("/orders/{key}").as_str())
    );

    let order = eventually(&format!("order {key} to be COMPLETED"), FLOW, || async {
        let reply = world.get_as(&alice, &format!("/orders/{id}")).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        (reply.body["status"] == "COMPLETED").then_some(reply.body)
    })
    .await;
    assert_eq!(order["id"], json!(key));
    assert_eq!(order["customerId"], json!(alice.id));
    assert_eq!(order["version"], 2);

    // Its OrderCreated says who placed it: the customer, by their token's subject.
    let created = &world.stored_events(&key).await[0];
    let detail: Value = serde_json::from_str(created["detail"].as_s().unwrap()).unwrap();
    assert_eq!(detail["metadata"]["eventVersion"], 3, "{detail}");
    assert_eq!(detail["data"]["orderId"], json!(key), "{detail}");
    assert_eq!(detail["data"]["customerId"], json!(alice.id), "{detail}");
    assert_eq!(
        detail["data"]["placedBy"],
        token_claims(&alice.token)["sub"],
        "{detail}"
    );

    // The operator reads it, and lists it among hers; so does she.
    let operator = world.operator();
    assert!(
        token_claims(&operator.token)["cognito:groups"]
            .as_array()
            .is_some_and(|groups| groups.contains(&json!("operators"))),
        "an operator's token"
    );
    let read = world.get_as(&operator, &format!("/orders/{key}")).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    for field in ["id", "customerId", "status", "version", "amount"] {
        assert_eq!(read.body[field], order[field], "{field}");
    }
    for reader in [&operator, &alice] {
        let listed = eventually(
            &format!("{key} in the list of {}", alice.id),
            FLOW,
            || async {
                let reply = world
                    .get_as(reader, &format!("/customers/{}/orders", alice.id))
                    .await;
                assert_eq!(reply.status, 200, "{:?}", reply.body);
                let orders = reply.body["orders"].as_array().cloned().unwrap_or_default();
                orders
                    .into_iter()
                    .find(|listed| listed["id"] == json!(key) && listed["status"] == "COMPLETED")
            },
        )
        .await;
        assert_eq!(listed["customerId"], json!(alice.id));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_get_right_after_the_202_finds_the_order() {
    let world = World::connect().await;
    let (_, alice) = someone(&world, "alice");
    for n in 1..=5 {
        let id = unique_id("e2e-ryow");
        let key = alice.order_key(&id);
        let placed = world
            .post_as(
                &alice,
                "/orders",
                &json!({"id": id, "amount": n}).to_string(),
            )
            .await;
        assert_eq!(placed.status, 202, "{:?}", placed.body);
        let location = placed.header("location").expect("a Location").to_owned();
        for path in [location, format!("/orders/{id}")] {
            let read = world.get_as(&alice, &path).await;
            assert_eq!(
                read.status, 200,
                "GET {path} right after the 202: {:?}",
                read.body
            );
            assert_eq!(read.body["id"], json!(key));
            assert_eq!(read.body["amount"], json!(n));
            assert!(
                ["CREATED", "COMPLETED"].contains(&read.body["status"].as_str().unwrap_or("")),
                "{:?}",
                read.body
            );
        }
    }
}

/// Whether the projection beats a GET right after the 202 is a race the test above cannot
/// steer; taking an order's view away makes the event store's answer certain.
#[tokio::test(flavor = "multi_thread")]
async fn an_order_whose_view_is_missing_is_read_from_the_event_store() {
    let world = World::connect().await;
    let (_, alice) = someone(&world, "alice");
    let id = unique_id("e2e-noview");
    let key = alice.order_key(&id);
    let placed = world
        .post_as(
            &alice,
            "/orders",
            &json!({"id": id, "amount": 700}).to_string(),
        )
        .await;
    assert_eq!(placed.status, 202, "{:?}", placed.body);
    let view = eventually(&format!("{key} CANCELLED in its view"), FLOW, || async {
        world
            .order_view(&key)
            .await
            .filter(|view| view["status"] == "CANCELLED")
    })
    .await;

    world.delete_order_view(&key).await;
    assert!(world.order_view(&key).await.is_none(), "the view is gone");
    let read = world.get_as(&alice, &format!("/orders/{id}")).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    for field in ["id", "customerId", "status", "version", "amount"] {
        assert_eq!(read.body[field], view[field], "{field}: {:?}", read.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_retried_post_gets_the_same_202_and_stores_one_order_created() {
    let world = World::connect().await;
    let (_, alice) = someone(&world, "alice");
    let id = unique_id("e2e-retry");
    let key = alice.order_key(&id);
    let body = json!({"id": id, "amount": 10}).to_string();
    let first = world.post_as(&alice, "/orders", &body).await;
    let again = world.post_as(&alice, "/order", &body).await;
    let third = world.post_as(&alice, "/orders", &body).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    for retry in [&again, &third] {
        assert_eq!(retry.status, 202, "{:?}", retry.body);
        assert_eq!(
            retry.body, first.body,
            "the same answer, correlation id included"
        );
        assert_eq!(retry.header("location"), first.header("location"));
    }
    let created: Vec<_> = world
        .stored_events(&key)
        .await
        .into_iter()
        .filter(|item| item["eventType"].as_s().is_ok_and(|t| t == "OrderCreated"))
        .collect();
    assert_eq!(created.len(), 1, "one OrderCreated stored: {created:#?}");
    assert_eq!(stored_anywhere(&world, &id).await, [key], "one order");
}
