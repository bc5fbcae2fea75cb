//! Time-stamping against a real RFC 3161 authority on loopback: `openssl ts -reply` behind a tiny HTTP
//! server, with a test CA and TSA certificate made by openssl; `openssl ts -verify` checks the token.

use std::path::{Path, PathBuf};
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{anchor, delivered_letter, run_verify};
use crate::helpers::{Db, TestEnv, files_in, spawn_with};
use relais::audit::{Scope, Subject};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A test CA, a TSA certificate it issued (extendedKeyUsage timeStamping) and the `openssl ts` config.
fn make_authority(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=relais test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[&["req"][..], &ec, &["-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=relais test TSA"]].concat(),
    );
    std::fs::write(
        dir.join("tsa.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "2",
            "-extfile",
            "tsa.ext",
        ],
    );
    let config = format!(
        "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\ndir = {}\nserial = $dir/tsaserial\nsigner_cert = $dir/tsa.pem\n\
         certs = $dir/ca.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
         digests = sha256\naccuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_alg = sha256\n",
        dir.display()
    );
    std::fs::write(dir.join("tsa.cnf"), config).unwrap();
    std::fs::write(dir.join("tsaserial"), "01\n").unwrap();
}

/// Serves `POST` on loopback: each body goes to `openssl ts -reply`, whose answer is the response.
async fn serve_authority(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/tsr", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            n += 1;
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            let (head_end, length) = loop {
                let read = socket.read(&mut buf).await.unwrap();
                assert!(read > 0, "request ended early");
                request.extend_from_slice(&buf[..read]);
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length: usize =
                        head.lines().find_map(|l| l.strip_prefix("content-length:")).unwrap().trim().parse().unwrap();
                    break (end + 4, length);
                }
            };
            while request.len() < head_end + length {
                let read = socket.read(&mut buf).await.unwrap();
                request.extend_from_slice(&buf[..read]);
            }
            let (query, reply) = (dir.join(format!("q{n}.tsq")), dir.join(format!("r{n}.tsr")));
            std::fs::write(&query, &request[head_end..]).unwrap();
            let (q, r) = (query.to_str().unwrap().to_owned(), reply.to_str().unwrap().to_owned());
            openssl(&dir, &["ts", "-reply", "-config", "tsa.cnf", "-queryfile", &q, "-out", &r]);
            let body = std::fs::read(&reply).unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(&body).await.unwrap();
            socket.shutdown().await.unwrap();
        }
    });
    url
}

async fn an_anchor_is_time_stamped_emailed_and_the_token_verifies_with_openssl(db: Db) {
    let env = TestEnv::new(db).await;
    let authority = env.path("tsa");
    make_authority(&authority);
    let mut settings = env.settings();
    settings.audit.tsa_url = serve_authority(authority.clone()).await;
    settings.audit.operator_email = "exploitation@mon-cabinet.fr".into();
    let app = spawn_with(&env, settings).await;
    delivered_letter(&app).await;

    let anchored = anchor(&app).await;
    assert_eq!(anchored.timestamp_error, None);
    assert_eq!(anchored.email_error, None);
    let name = anchored.line.timestamp_token.clone().expect("a time-stamp token");
    let token = app.services.settings.audit.anchor_file.parent().unwrap().join(&name);
    let token = token.to_str().unwrap();
    openssl(&authority, &["ts", "-verify", "-digest", &anchored.line.digest, "-in", token, "-CAfile", "ca.pem"]);
    let other = "00".repeat(32);
    let refused = Command::new("openssl")
        .current_dir(&authority)
        .args(["ts", "-verify", "-digest", &other, "-in", token, "-CAfile", "ca.pem"])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "the token covers the anchor's digest only");

    // The operator got the anchor, with the line and the token attached.
    let email =
        files_in(&app.outbox).into_iter().find(|p| p.to_string_lossy().contains("-anchor-")).expect("anchor email");
    let raw = std::fs::read(email).unwrap();
    let message = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(message.to().unwrap().first().unwrap().address().unwrap(), "exploitation@mon-cabinet.fr");
    assert!(message.body_text(0).unwrap().contains(&anchored.line.digest));
    let names: Vec<String> = message.attachments().filter_map(|a| a.attachment_name().map(str::to_owned)).collect();
    assert_eq!(names, ["anchor.json".to_owned(), name.clone()]);

    let report = run_verify(&app, &Scope::Everything).await;
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.timestamps, 1);

    // A token swapped for another anchor's is reported.
    let second = anchor(&app).await;
    let second_token =
        app.services.settings.audit.anchor_file.parent().unwrap().join(second.line.timestamp_token.unwrap());
    let first_bytes = std::fs::read(token).unwrap();
    tamper_token(&second_token, &first_bytes, anchored.line.digest != second.line.digest);
    let report = run_verify(&app, &Scope::Everything).await;
    assert!(
        report.findings.iter().any(|f| matches!(f.subject, Subject::TimestampToken { line: 2 })),
        "{:?}",
        report.findings
    );
    app.stop().await;
}

/// Replaces a token by another one; when both anchors have the same digest, by garbage instead.
fn tamper_token(path: &Path, other: &[u8], digests_differ: bool) {
    if digests_differ { std::fs::write(path, other).unwrap() } else { std::fs::write(path, b"not a token").unwrap() }
}

crate::on_both_databases!(an_anchor_is_time_stamped_emailed_and_the_token_verifies_with_openssl);
