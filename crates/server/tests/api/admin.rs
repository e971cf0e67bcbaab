//! `/api/admin/`: the admin guard on every route, listing, detail, updates, activation, audit.

use crate::helpers::{Backend, PASSWORD, TestApp, Tokens, on_both_backends, problem, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

on_both_backends!(
    every_admin_route_is_401_anonymous_and_403_for_a_plain_user,
    the_user_list_pages_ten_at_a_time_with_absolute_neighbour_links,
    the_user_list_filters_searches_and_orders,
    the_user_list_by_cursor_returns_everyone_exactly_once,
    malformed_pages_are_404_and_malformed_filters_400,
    empty_query_values_are_no_filter_as_in_drf,
    get_user_returns_one_user_and_404_for_unknown_or_malformed_ids,
    patch_user_changes_role_and_name_but_not_the_admins_own_role,
    toggle_deactivates_at_once_and_never_the_admins_own_account,
    the_audit_log_records_and_filters_events,
);

async fn populate(app: &TestApp, count: usize) -> Vec<Tokens> {
    let mut users = Vec::new();
    for n in 0..count {
        users.push(
            app.signup(&format!("user{n:02}@example.com"), &format!("User {n:02}"))
                .await,
        );
    }
    users
}

async fn list(app: &TestApp, admin: &Tokens, query: &str) -> Value {
    let response = app
        .get(&format!("/api/admin/users/{query}"), &admin.access)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

fn emails(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn every_admin_route_is_401_anonymous_and_403_for_a_plain_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.signup("ada@example.com", "Ada").await;
    let target = format!("/api/admin/users/{}/", user.id);
    let toggle = format!("/api/admin/users/{}/toggle/", user.id);
    let routes = [
        (Method::GET, "/api/admin/users/".to_owned(), None),
        (Method::GET, target.clone(), None),
        (
            Method::PATCH,
            target.clone(),
            Some(json!({"role": "admin"})),
        ),
        // Authorization comes before validation: a plain user learns nothing of the body.
        (Method::PATCH, target, Some(json!({"full_name": ""}))),
        (Method::PATCH, toggle, None),
        (Method::GET, "/api/admin/audit/".to_owned(), None),
    ];
    for (method, path, body) in routes {
        let mut anonymous = app.request(method.clone(), &path);
        if let Some(body) = &body {
            anonymous = anonymous.json(body);
        }
        problem(anonymous.send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        let as_user = app.send(method, &path, &user.access, body.as_ref()).await;
        problem(as_user, StatusCode::FORBIDDEN).await;
    }
    // Nothing changed.
    let me: Value = app
        .get("/api/users/me/", &user.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["role"].as_str(), me["is_active"].as_bool()),
        (Some("user"), Some(true))
    );
}

async fn the_user_list_pages_ten_at_a_time_with_absolute_neighbour_links(backend: Backend) {
    let app = spawn_app(backend).await;
    populate(&app, 24).await;
    let admin = app.admin().await;
    let first = list(&app, &admin, "?ordering=email").await;
    assert_eq!(first["count"], 25);
    assert_eq!(first["results"].as_array().unwrap().len(), 10);
    assert!(first["previous"].is_null());
    let next = first["next"].as_str().unwrap();
    assert!(
        next.starts_with(&app.address)
            && next.contains("page=2")
            && next.contains("ordering=email"),
        "{next}"
    );
    let second: Value = app
        .get(&next[app.address.len()..], &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let previous = second["previous"].as_str().unwrap();
    assert!(
        !previous.contains("page="),
        "page 1 has no page parameter, as in DRF: {previous}"
    );
    let third = list(&app, &admin, "?ordering=email&page=3").await;
    assert_eq!(third["results"].as_array().unwrap().len(), 5);
    assert!(third["next"].is_null());
    assert!(third["next_cursor"].is_null());
    let all: HashSet<String> = [first, second, third].iter().flat_map(emails).collect();
    assert_eq!(all.len(), 25);
    let big = list(&app, &admin, "?page_size=100").await;
    assert_eq!(big["results"].as_array().unwrap().len(), 25);
}

async fn the_user_list_filters_searches_and_orders(backend: Backend) {
    let app = spawn_app(backend).await;
    let users = populate(&app, 12).await;
    app.signup("o'brien_100%@example.com", "Seán O'Brien").await;
    let admin = app.admin().await;
    app.send(
        Method::PATCH,
        &format!("/api/admin/users/{}/toggle/", users[3].id),
        &admin.access,
        None,
    )
    .await;

    let found = list(&app, &admin, "?search=USER%2003").await;
    assert_eq!(emails(&found), ["user03@example.com"]);
    let by_email = list(&app, &admin, "?search=user1").await;
    assert_eq!(by_email["count"], 2, "user10, user11");
    // LIKE wildcards and quotes are matched literally.
    assert_eq!(
        emails(&list(&app, &admin, "?search=100%25").await),
        ["o'brien_100%@example.com"]
    );
    assert_eq!(list(&app, &admin, "?search=_").await["count"], 1);
    assert_eq!(
        list(&app, &admin, "?search=%27%3B%20DROP%20TABLE%20users%3B--").await["count"],
        0
    );
    assert_eq!(
        emails(&list(&app, &admin, "?search=se%C3%A1n").await),
        ["o'brien_100%@example.com"]
    );

    let inactive = list(&app, &admin, "?is_active=false").await;
    assert_eq!(emails(&inactive), ["user03@example.com"]);
    let admins = list(&app, &admin, "?role=admin").await;
    assert_eq!(emails(&admins), ["admin@example.com"]);
    let descending = emails(&list(&app, &admin, "?ordering=-email&page_size=3").await);
    let mut sorted = descending.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(descending, sorted);
    let newest = emails(&list(&app, &admin, "?page_size=1").await);
    assert_eq!(
        newest,
        ["o'brien_100%@example.com"],
        "newest first by default"
    );
}

async fn the_user_list_by_cursor_returns_everyone_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    populate(&app, 23).await;
    let admin = app.admin().await;
    for ordering in ["date_joined", "-date_joined", "email", "-email"] {
        let mut seen = Vec::new();
        let mut page = list(&app, &admin, &format!("?ordering={ordering}")).await;
        loop {
            assert_eq!(page["count"], 24);
            seen.extend(emails(&page));
            let Some(cursor) = page["next_cursor"].as_str() else {
                break;
            };
            page = list(&app, &admin, &format!("?cursor={cursor}")).await;
        }
        assert_eq!(seen.len(), 24, "{ordering}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 24, "{ordering}");
    }
}

async fn malformed_pages_are_404_and_malformed_filters_400(backend: Backend) {
    let app = spawn_app(backend).await;
    populate(&app, 3).await;
    let admin = app.admin().await;
    for query in [
        "?page=2",
        "?page=0",
        "?page=abc",
        "?cursor=zz",
        "?cursor=00",
        // Exactly as the document's pattern states a page number: no sign, space or zero first.
        "?page=%2B1",
        "?page=01",
        "?page=%201",
    ] {
        problem(
            app.get(&format!("/api/admin/users/{query}"), &admin.access)
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    for query in [
        "?page_size=101",
        "?page_size=0",
        "?role=root",
        "?is_active=maybe",
        "?ordering=password",
        // Only the spellings the document lists: what it allows and what is accepted agree.
        "?page_size=%2B5",
        "?page_size=05",
        "?role=%20",
        "?role=Admin",
        "?is_active=TRUE",
        "?ordering=%20email",
    ] {
        let body = problem(
            app.get(&format!("/api/admin/users/{query}"), &admin.access)
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(body["errors"].is_object(), "{query}: {body}");
    }
}

async fn empty_query_values_are_no_filter_as_in_drf(backend: Backend) {
    let app = spawn_app(backend).await;
    populate(&app, 3).await;
    let admin = app.admin().await;
    let everyone = list(&app, &admin, "").await;
    let with_empty_values = list(
        &app,
        &admin,
        "?role=&is_active=&search=&ordering=&page=&page_size=&cursor=",
    )
    .await;
    assert_eq!(with_empty_values["count"], 4);
    assert_eq!(emails(&with_empty_values), emails(&everyone));

    let response = app
        .get(
            "/api/admin/audit/?actor=&target=&action=&page=&page_size=",
            &admin.access,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let audit: Value = response.json().await.unwrap();
    assert!(audit["count"].as_u64().unwrap() >= 4, "{audit}");
}

async fn get_user_returns_one_user_and_404_for_unknown_or_malformed_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.signup("ada@example.com", "Ada").await;
    let admin = app.admin().await;
    let response = app
        .get(&format!("/api/admin/users/{}/", user.id), &admin.access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "ada@example.com");
    for id in [
        uuid::Uuid::now_v7().to_string(),
        "42".to_owned(),
        "%27%20OR%201%3D1".to_owned(),
    ] {
        problem(
            app.get(&format!("/api/admin/users/{id}/"), &admin.access)
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
}

async fn patch_user_changes_role_and_name_but_not_the_admins_own_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.signup("ada@example.com", "Ada").await;
    let admin = app.admin().await;
    let path = format!("/api/admin/users/{}/", user.id);
    let response = app
        .send(
            Method::PATCH,
            &path,
            &admin.access,
            Some(&json!({"role": "admin", "full_name": "Countess"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["role"].as_str(), body["full_name"].as_str()),
        (Some("admin"), Some("Countess"))
    );
    // The promotion takes effect on the user's live token at once.
    assert_eq!(
        app.get("/api/admin/users/", &user.access).await.status(),
        StatusCode::OK
    );

    let invalid = app
        .send(
            Method::PATCH,
            &path,
            &admin.access,
            Some(&json!({"role": "root"})),
        )
        .await;
    problem(invalid, StatusCode::BAD_REQUEST).await;
    let admin_id: Value = app
        .get("/api/users/me/", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let own = format!("/api/admin/users/{}/", admin_id["id"].as_str().unwrap());
    problem(
        app.send(
            Method::PATCH,
            &own,
            &admin.access,
            Some(&json!({"role": "user"})),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.send(
            Method::PATCH,
            &own,
            &admin.access,
            Some(&json!({"is_active": false})),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let renamed = app
        .send(
            Method::PATCH,
            &own,
            &admin.access,
            Some(&json!({"full_name": "Root"})),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let missing = app
        .send(
            Method::PATCH,
            &format!("/api/admin/users/{}/", uuid::Uuid::now_v7()),
            &admin.access,
            Some(&json!({"role": "user"})),
        )
        .await;
    problem(missing, StatusCode::NOT_FOUND).await;

    let deactivate = app
        .send(
            Method::PATCH,
            &path,
            &admin.access,
            Some(&json!({"is_active": false})),
        )
        .await;
    assert_eq!(deactivate.status(), StatusCode::OK);
    assert_eq!(app.me_status(&user.access).await, StatusCode::UNAUTHORIZED);
}

async fn toggle_deactivates_at_once_and_never_the_admins_own_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.signup("ada@example.com", "Ada").await;
    let admin = app.admin().await;
    let toggle = format!("/api/admin/users/{}/toggle/", user.id);
    let response = app.send(Method::PATCH, &toggle, &admin.access, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["is_active"], false);
    assert_eq!(app.me_status(&user.access).await, StatusCode::UNAUTHORIZED);
    problem(
        app.post(
            "/api/auth/token/refresh/",
            &json!({"refresh": user.refresh}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.login("ada@example.com", PASSWORD).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let back: Value = app
        .send(Method::PATCH, &toggle, &admin.access, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["is_active"], true);
    app.login_ok("ada@example.com", PASSWORD).await;
    // Sessions revoked by the deactivation stay revoked.
    assert_eq!(app.me_status(&user.access).await, StatusCode::UNAUTHORIZED);

    let me: Value = app
        .get("/api/users/me/", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let own = format!("/api/admin/users/{}/toggle/", me["id"].as_str().unwrap());
    problem(
        app.send(Method::PATCH, &own, &admin.access, None).await,
        StatusCode::CONFLICT,
    )
    .await;
    let unknown = format!("/api/admin/users/{}/toggle/", uuid::Uuid::now_v7());
    problem(
        app.send(Method::PATCH, &unknown, &admin.access, None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn the_audit_log_records_and_filters_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.signup("ada@example.com", "Ada").await;
    problem(
        app.login("ada@example.com", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.login("ghost@example.com", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let admin = app.admin().await;
    app.send(
        Method::PATCH,
        &format!("/api/admin/users/{}/toggle/", user.id),
        &admin.access,
        None,
    )
    .await;

    let response = app
        .get("/api/admin/audit/?page_size=100", &admin.access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let actions: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "admin_create",
        "signup",
        "login_failed",
        "login",
        "admin_toggle_active",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert_eq!(actions[0], "admin_toggle_active", "newest first");
    let body: Value = app
        .get(
            &format!("/api/admin/audit/?target={}&action=login_failed", user.id),
            &admin.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["count"], 1);
    assert_eq!(body["results"][0]["details"]["reason"], "wrong_password");
    assert_eq!(body["results"][0]["ip"], "127.0.0.1");
    let invalid = app
        .get("/api/admin/audit/?action=explode", &admin.access)
        .await;
    problem(invalid, StatusCode::BAD_REQUEST).await;
    problem(
        app.get("/api/admin/audit/?page=99", &admin.access).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
