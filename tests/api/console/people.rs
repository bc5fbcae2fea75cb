//! A person using the console over plain HTTP: their cookie, the CSRF token of the pages, forms posted.

use relais::accounts::users::{self, Role};
use reqwest::StatusCode;
use reqwest::redirect::Policy;

use crate::helpers::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

/// A console user made directly through the accounts module, as `relais user create` does.
pub async fn make_user(app: &TestApp, email: &str, role: Role) {
    users::create_user(&app.store, email, PASSWORD, role, Vec::new()).await.expect("user created");
}

/// One browser-less person: a client that does not follow redirects, and their session cookie.
pub struct Person {
    pub client: reqwest::Client,
    pub base: String,
    pub cookie: String,
}

/// The value of `name="NAME" value="…"` in a page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// Posts the sign-in form as a browser would (its token cookie and field), from a fresh client.
pub async fn try_sign_in(app: &TestApp, email: &str, password: &str) -> (reqwest::Response, Option<Person>) {
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let form = client.get(app.url("/console/login")).send().await.unwrap();
    let login_cookie = cookie_of(&form, "relais_login").expect("the sign-in form sets its token cookie");
    let token = hidden_value(&form.text().await.unwrap(), "token").expect("the form has a token");
    let response = client
        .post(app.url("/console/login"))
        .header("cookie", &login_cookie)
        .form(&[("email", email), ("password", password), ("token", &token), ("next", "/console/")])
        .send()
        .await
        .unwrap();
    let person =
        cookie_of(&response, "relais_session").map(|cookie| Person { client, base: app.address.clone(), cookie });
    (response, person)
}

pub async fn sign_in(app: &TestApp, email: &str) -> Person {
    let (response, person) = try_sign_in(app, email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    person.expect("a session cookie")
}

impl Person {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap()
    }

    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// The CSRF token the console's pages carry for this session.
    pub async fn csrf(&self) -> String {
        hidden_value(&self.page("/console/").await, "csrf").expect("pages carry the CSRF token")
    }

    /// Posts a multipart form (an upload), the session's CSRF token in the query as the console's upload
    /// forms carry it.
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> reqwest::Response {
        let csrf = self.csrf().await;
        self.client
            .post(format!("{}{path}?csrf={csrf}", self.base))
            .header("cookie", &self.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form with the fields given (add `("csrf", …)` to send the token).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .unwrap()
    }
}
