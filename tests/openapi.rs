//! The OpenAPI document: what `GET /api/v1/openapi.json` serves is the
//! committed `schemas/openapi.json`, and a third-party validator
//! (PyPI `openapi-spec-validator`, installed by `.ci/setup`) accepts it as
//! OpenAPI 3.1.

use std::process::Command;

use axum::{body::Body, http::Request};
use evident::app::{app, Builder};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn the_served_document_is_the_committed_one_and_a_validator_accepts_it() {
    let d = tempfile::tempdir().unwrap();
    let state = Builder::new(d.path())
        .master_key_hex(&"88".repeat(32))
        .open()
        .unwrap()
        .state;
    let res = app(state)
        .oneshot(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "served without credentials");
    let served = res.into_body().collect().await.unwrap().to_bytes();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openapi.json");
    let committed = std::fs::read(&path).unwrap();
    assert_eq!(
        served.as_ref(),
        committed.as_slice(),
        "drift: regenerate schemas/openapi.json"
    );
    let doc: serde_json::Value = serde_json::from_slice(&committed).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .expect("python3 with openapi-spec-validator (.ci/setup installs it)");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
