//! `relais user create|list|disable|reset-password`, run as the real binary on the app's database: the
//! password read from standard input or a file (never an argument), and what each command does to signing in.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use super::people::{PASSWORD, try_sign_in};
use crate::helpers::{Db, TestEnv, spawn_with};

/// Runs `relais ARGS` on the test database, `stdin` written to its standard input; (success, stdout, stderr).
fn relais(env: &TestEnv, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(args)
        .env("RELAIS__DATABASE__URL", &env.database_url)
        .env("RELAIS__STORAGE__PROOFS_DIR", env.path("proofs"))
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("relais runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

async fn the_user_commands_create_list_disable_and_reset_passwords(db: Db) {
    let env = TestEnv::new(db).await;
    let app = spawn_with(&env, env.settings()).await;

    let (ok, _, said) = relais(
        &env,
        &["user", "create", "--email", "claire@cabinet.fr", "--role", "member", "--sender", "default"],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "{said}");
    assert!(said.contains("claire@cabinet.fr") && said.contains("console/"), "{said}");
    let file = env.path("password.txt");
    std::fs::write(&file, "un autre mot de passe assez long\n").unwrap();
    let args = ["user", "create", "--email", "paul@cabinet.fr", "--role", "viewer", "--password-file"];
    let (ok, _, said) = relais(&env, &[&args[..], &[file.to_str().unwrap()]].concat(), "");
    assert!(ok, "{said}");
    let (ok, _, said) = relais(&env, &["user", "create", "--email", "x@cabinet.fr", "--role", "admin"], "");
    assert!(!ok && said.contains("no password"), "an empty password is refused: {said}");
    let (ok, _, said) =
        relais(&env, &["user", "create", "--email", "y@cabinet.fr", "--role", "member", "--sender", "nobody"], "pw\n");
    assert!(!ok && said.contains("no sender `nobody`"), "{said}");

    let (ok, listed, _) = relais(&env, &["user", "list"], "");
    assert!(ok);
    assert!(listed.contains("claire@cabinet.fr\tmember\tdefault\tactive"), "{listed}");
    assert!(listed.contains("paul@cabinet.fr\tviewer\tevery sender\tactive"), "{listed}");
    assert!(!listed.contains(PASSWORD) && !listed.contains("argon2"), "no password or hash is printed");

    let (response, _) = try_sign_in(&app, "claire@cabinet.fr", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the password from standard input signs in");
    let (response, person) = try_sign_in(&app, "paul@cabinet.fr", "un autre mot de passe assez long").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the password from the file signs in");
    let paul = person.unwrap();

    let (ok, _, said) =
        relais(&env, &["user", "reset-password", "paul@cabinet.fr"], "le nouveau mot de passe de paul\n");
    assert!(ok, "{said}");
    assert_eq!(paul.get("/console/").await.status(), StatusCode::SEE_OTHER, "a reset ends the sessions");
    let (response, _) = try_sign_in(&app, "paul@cabinet.fr", "un autre mot de passe assez long").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the old password no longer works");
    let (response, _) = try_sign_in(&app, "paul@cabinet.fr", "le nouveau mot de passe de paul").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let (ok, _, said) = relais(&env, &["user", "disable", "claire@cabinet.fr"], "");
    assert!(ok, "{said}");
    let (response, person) = try_sign_in(&app, "claire@cabinet.fr", PASSWORD).await;
    assert_ne!(response.status(), StatusCode::SEE_OTHER, "a disabled user cannot sign in");
    assert!(person.is_none());
    let (_, listed, _) = relais(&env, &["user", "list"], "");
    assert!(listed.contains("claire@cabinet.fr\tmember\tdefault\tdisabled"), "{listed}");
    app.stop().await;
}

crate::on_both_databases!(the_user_commands_create_list_disable_and_reset_passwords);
