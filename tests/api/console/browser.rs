//! A real headless Chromium driven over WebDriver (chromedriver, started here on a loopback port), with a
//! screenshot of each page it looks at under `target/console-screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::Db;

/// A browser session and the chromedriver behind it (killed when dropped).
pub struct Browser {
    pub client: Client,
    pub base: String,
    shots: PathBuf,
    prefix: String,
    driver: tokio::process::Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium (installed by scripts/test from Debian's packages).
    /// chromedriver binds its port itself: a port found free here may be taken by another test first, and
    /// a chromedriver that exits is started again on another port.
    pub async fn start(base: &str, db: Db, test: &str) -> Browser {
        let mut capabilities = serde_json::Map::new();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            "--lang=fr-FR",
        ];
        let prefs = json!({ "intl.accept_languages": "fr-FR,fr" });
        capabilities.insert("goog:chromeOptions".into(), json!({ "args": args, "prefs": prefs }));
        let mut started = None;
        'driver: for _ in 0..5 {
            let port = free_port();
            let mut driver = tokio::process::Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("chromedriver must be installed (scripts/test installs Debian's chromium-driver)");
            let url = format!("http://127.0.0.1:{port}");
            for _ in 0..100 {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                    Ok(c) => {
                        started = Some((c, driver));
                        break 'driver;
                    }
                    Err(_) if driver.try_wait().is_ok_and(|exited| exited.is_some()) => continue 'driver,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            break;
        }
        let (client, driver) = started.expect("chromedriver answers within 10 s");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("console-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let prefix = format!("{}-{test}", if db == Db::Sqlite { "sqlite" } else { "postgres" });
        Browser { client, base: base.to_owned(), shots, prefix, driver }
    }

    pub async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("page opens");
    }

    /// Saves a PNG of the window as `<db>-<test>-<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{}-{name}.png", self.prefix)), png).unwrap();
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .expect(css)
            .text()
            .await
            .unwrap()
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.expect(css);
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.expect(css).click().await.unwrap();
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Polls until the page's HTML contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        for _ in 0..200 {
            if self.source().await.contains(text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {text:?}: {}", self.source().await);
    }

    pub async fn sign_in(&self, email: &str, password: &str) {
        self.open("/console/login").await;
        self.fill("input[name=email]", email).await;
        self.fill("input[name=password]", password).await;
        self.click("button[type=submit]").await;
    }

    pub async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}
