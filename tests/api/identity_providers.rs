//! Real identity providers on 127.0.0.1, started by the tests: a CAS 3.0 server
//! (django-cas-server, `tests/sso/cas/serve.py`) and an OpenID Connect provider
//! (node-oidc-provider, `tests/sso/oidc/provider.js`), with a proxy that can stand between
//! placemat and the OpenID Connect provider to spoil its answers. `tests/sso/install.sh`
//! installs both; without them the sign-in stories say they skipped, unless
//! `PLACEMAT_SSO_TESTS=required` makes that a failure.

use crate::helpers::{spawn_app, TestApp, PASSWORD};
use placemat::domain::Role;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Whether the providers are installed; a missing one fails the test when they are
/// required, and otherwise skips it with a word.
pub fn installed(test: &str) -> bool {
    let python = project().join("target/sso-venv/bin/python");
    let node_modules = project().join("tests/sso/oidc/node_modules/oidc-provider");
    if python.exists() && node_modules.exists() {
        return true;
    }
    if std::env::var("PLACEMAT_SSO_TESTS").as_deref() == Ok("required") {
        panic!("the identity providers are not installed: run tests/sso/install.sh");
    }
    eprintln!("{test}: skipped, the identity providers are not installed (tests/sso/install.sh)");
    false
}

/// A provider process, stopped when dropped (and when the test process ends, since it
/// stops when its standard input closes).
pub struct Process(Child);

impl Process {
    fn start(mut command: Command) -> Process {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("the provider starts");
        let stdout = child.stdout.take().expect("the provider's output");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the provider says it is ready");
        assert_eq!(line.trim(), "ready", "the provider did not start");
        Process(child)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A person the CAS server knows.
pub struct CasPerson<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub email: &'a str,
}

/// A CAS server; its base URL is `url`.
pub struct Cas {
    pub url: String,
    _process: Process,
}

impl Cas {
    pub fn start(people: &[CasPerson<'_>]) -> Cas {
        let port = free_port();
        let people: Vec<_> = people
            .iter()
            .map(|p| {
                serde_json::json!({"username": p.username, "password": p.password, "email": p.email})
            })
            .collect();
        let mut command = Command::new(project().join("target/sso-venv/bin/python"));
        command
            .arg(project().join("tests/sso/cas/serve.py"))
            .arg(port.to_string())
            .arg(serde_json::Value::Array(people).to_string());
        Cas {
            url: format!("http://127.0.0.1:{port}/cas"),
            _process: Process::start(command),
        }
    }
}

/// An OpenID Connect provider; its issuer is `issuer`, its one client `placemat` with
/// [`OIDC_SECRET`].
pub struct Oidc {
    pub issuer: String,
    _process: Process,
}

pub const OIDC_SECRET: &str = "a client secret of at least thirty-two bytes";

impl Oidc {
    /// A provider for placemat's callback `redirect_uri`.
    pub fn start(redirect_uri: &str) -> Oidc {
        let port = free_port();
        Oidc::start_on(port, redirect_uri, 3600, port)
    }

    /// A provider listening on `port`, announcing the issuer on `issuer_port` (a proxy's in
    /// front of it), its ID tokens valid for `id_token_ttl` seconds.
    pub fn start_on(port: u16, redirect_uri: &str, id_token_ttl: u64, issuer_port: u16) -> Oidc {
        let issuer = format!("http://127.0.0.1:{issuer_port}");
        let client = serde_json::json!({
            "client_id": "placemat",
            "client_secret": OIDC_SECRET,
            "redirect_uri": redirect_uri,
            "id_token_ttl": id_token_ttl,
            "issuer": issuer,
        });
        let mut command = Command::new("node");
        command
            .arg(project().join("tests/sso/oidc/provider.js"))
            .arg(port.to_string())
            .arg(client.to_string());
        Oidc {
            issuer,
            _process: Process::start(command),
        }
    }
}

/// What the proxy does to the token endpoint's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    /// Passes them on as they are.
    Nothing,
    /// Changes a character of the ID token's signature.
    Signature,
    /// Answers every exchange after the first with the first one's tokens (an old ID token,
    /// with another sign-in's nonce).
    Replay,
    /// Holds the answer back for this long.
    Delay(Duration),
}

/// The proxy's spoil, the first token answer it saw, its client and the provider's port.
type ProxyState = (
    Arc<Mutex<Spoil>>,
    Arc<Mutex<Option<String>>>,
    reqwest::Client,
    u16,
);

/// A proxy in front of the OpenID Connect provider, whose token answers the test spoils.
pub struct Proxy {
    pub port: u16,
    pub spoil: Arc<Mutex<Spoil>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Proxy {
    pub fn start(upstream_port: u16) -> Proxy {
        use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("the proxy's port");
        let port = listener.local_addr().expect("an address").port();
        let spoil = Arc::new(Mutex::new(Spoil::Nothing));
        let first_tokens: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let state = (spoil.clone(), first_tokens, client, upstream_port);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(
                    |req: HttpRequest, body: web::Bytes, state: web::Data<ProxyState>| async move {
                        let (spoil, first, client, upstream) = state.get_ref();
                        let url = format!("http://127.0.0.1:{upstream}{}", req.uri());
                        let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
                            .expect("a method");
                        let mut forward = client.request(method, url).body(body);
                        // The Host header goes on as it came: the provider builds its
                        // endpoints' addresses from it, and they must lead to the proxy.
                        for (name, value) in req.headers() {
                            forward = forward.header(name.as_str(), value.as_bytes());
                        }
                        let answer = forward.send().await.expect("the provider answers");
                        let status = answer.status();
                        let headers = answer.headers().clone();
                        let mut text = answer.text().await.expect("a body");
                        if std::env::var_os("TEST_LOG").is_some() {
                            eprintln!("proxy: {} {} -> {status}", req.method(), req.path());
                        }
                        if req.path() == "/token" && status.is_success() {
                            let spoil = *spoil.lock().expect("the spoil");
                            match spoil {
                                Spoil::Nothing => {}
                                Spoil::Signature => text = spoiled_signature(&text),
                                Spoil::Replay => {
                                    let mut first = first.lock().expect("the first tokens");
                                    match first.as_ref() {
                                        Some(old) => text = old.clone(),
                                        None => *first = Some(text.clone()),
                                    }
                                }
                                Spoil::Delay(pause) => tokio::time::sleep(pause).await,
                            }
                        }
                        let mut response = HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(status.as_u16())
                                .expect("a status"),
                        );
                        for (name, value) in &headers {
                            if name != "content-length" && name != "transfer-encoding" {
                                let value = actix_web::http::header::HeaderValue::from_bytes(
                                    value.as_bytes(),
                                )
                                .expect("a header value");
                                response.append_header((name.as_str(), value));
                            }
                        }
                        response.body(text)
                    },
                ))
        })
        .workers(1)
        .listen(listener)
        .expect("the proxy listens")
        .run();
        let handle = server.handle();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the proxy");
            let _ = runtime.block_on(server);
        });
        Proxy {
            port,
            spoil,
            handle,
        }
    }

    pub fn spoil(&self, how: Spoil) {
        *self.spoil.lock().expect("the spoil") = how;
    }
}

/// The token answer with one character of the ID token's signature changed.
fn spoiled_signature(text: &str) -> String {
    let mut answer: serde_json::Value = serde_json::from_str(text).expect("a token answer");
    let token = answer["id_token"].as_str().expect("an ID token").to_owned();
    let (signed, signature) = token.rsplit_once('.').expect("a signed token");
    let mut signature: Vec<char> = signature.chars().collect();
    signature[4] = if signature[4] == 'A' { 'B' } else { 'A' };
    answer["id_token"] = format!("{signed}.{}", signature.into_iter().collect::<String>()).into();
    answer.to_string()
}

/// A browser without JavaScript: keeps its cookies, follows no redirect by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// The `Location` of a redirect, made absolute against the URL it answered.
pub fn location(response: &reqwest::Response) -> Option<String> {
    let target = response.headers().get("location")?.to_str().ok()?;
    response.url().join(target).ok().map(|url| url.to_string())
}

/// The value of each `<input>` of the first form of a page, and the form's action.
pub fn form_of(page: &str) -> (Option<String>, Vec<(String, String)>) {
    let attribute = |tag: &str, name: &str| {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].replace("&amp;", "&"))
    };
    let action = page
        .find("<form")
        .and_then(|at| attribute(&page[at..at + page[at..].find('>')?], "action"));
    let fields = page
        .match_indices("<input")
        .filter_map(|(at, _)| {
            let tag = &page[at..at + page[at..].find('>')?];
            Some((
                attribute(tag, "name")?,
                attribute(tag, "value").unwrap_or_default(),
            ))
        })
        .collect();
    (action, fields)
}

/// Follows redirects until one leads back to placemat (`placemat` starts its URL) or a
/// page answers; answers that last response.
pub async fn follow(browser: &reqwest::Client, url: &str, placemat: &str) -> reqwest::Response {
    let mut response = browser.get(url).send().await.expect("sent");
    while let Some(next) = location(&response) {
        if next.starts_with(placemat) {
            return response;
        }
        response = browser.get(&next).send().await.expect("sent");
    }
    response
}

/// Signs in at the CAS server's form as `username`; answers placemat's callback URL with
/// the ticket (not yet visited).
pub async fn cas_sign_in(
    browser: &reqwest::Client,
    placemat: &str,
    provider: &str,
    username: &str,
    password: &str,
) -> String {
    let start = browser
        .get(format!("{placemat}/sso/{provider}/start"))
        .send()
        .await
        .expect("sent");
    let login = location(&start).expect("placemat sends the browser to CAS");
    let page = browser.get(&login).send().await.expect("sent");
    let (_, mut fields) = form_of(&page.text().await.expect("the login page"));
    fields.retain(|(name, _)| name != "username" && name != "password");
    fields.push(("username".into(), username.into()));
    fields.push(("password".into(), password.into()));
    let signed_in = browser
        .post(&login)
        .header("referer", &login)
        .form(&fields)
        .send()
        .await
        .expect("sent");
    location(&signed_in).expect("CAS sends the browser back with a ticket")
}

/// Signs in at the OpenID Connect provider as `login`; answers placemat's callback URL with
/// the code and state (not yet visited).
pub async fn oidc_sign_in(
    browser: &reqwest::Client,
    placemat: &str,
    provider: &str,
    login: &str,
) -> String {
    let start = follow(
        browser,
        &format!("{placemat}/sso/{provider}/start"),
        placemat,
    )
    .await;
    let page = start.url().clone();
    let (action, _) = form_of(&start.text().await.expect("the provider's login page"));
    let action = page
        .join(&action.expect("the login form's action"))
        .expect("an action URL");
    let submitted = browser
        .post(action)
        .form(&[("prompt", "login"), ("login", login), ("password", "any")])
        .send()
        .await
        .expect("sent");
    let next = location(&submitted).expect("the provider goes on");
    let back = follow(browser, &next, placemat).await;
    location(&back).expect("the provider sends the browser back to placemat")
}

/// The callback URL with its `state` replaced, as an attacker on the way would.
pub fn with_state(callback: &str, state: &str) -> String {
    let mut url = reqwest::Url::parse(callback).expect("a URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| {
            let value = if name == "state" {
                state.into()
            } else {
                value.into_owned()
            };
            (name.into_owned(), value)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// The variable that holds the OpenID Connect client's secret for placemat.
pub const SECRET_VARIABLE: &str = "PLACEMAT_TEST_OIDC_SECRET";
/// NJTECH's placement officer.
pub const OFFICER: &str = "officer@njtech.edu.cn";

/// A provider file's entries, as TOML: USST through CAS by student number, NJTECH through
/// OpenID Connect by email.
pub fn cas_entry(url: &str, extra: &str) -> String {
    format!(
        "[[provider]]\nid = \"usst\"\nuniversity = \"USST\"\nname = \"USST 统一身份认证\"\nkind = \"cas\"\nurl = \"{url}\"\nmatch = \"student_number\"\n{extra}\n"
    )
}

pub fn oidc_entry(issuer: &str, extra: &str) -> String {
    format!(
        "[[provider]]\nid = \"njtech\"\nuniversity = \"NJTECH\"\nname = \"NJTECH SSO\"\nkind = \"oidc\"\nissuer = \"{issuer}\"\nclient_id = \"placemat\"\nclient_secret_env = \"{SECRET_VARIABLE}\"\nmatch = \"email\"\nclaim = \"email\"\n{extra}\n"
    )
}

/// USST with one student (number and name given) and NJTECH with its officer [`OFFICER`],
/// in a placemat without providers yet; answers the student's name as stored.
pub async fn two_universities(student_number: &str, student_name: &str) -> (TestApp, String) {
    std::env::set_var(SECRET_VARIABLE, OIDC_SECRET);
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    app.create_university("NJTECH").await;
    app.create_program("0854").await;
    let (student, _) = app
        .create_student(&usst, student_number, student_name, "0854", None)
        .await;
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        placemat::cli::create_user(
            &db,
            Role::UniversityAdmin,
            OFFICER,
            PASSWORD,
            Some("NJTECH"),
            None,
        )
    })
    .await
    .expect("joins")
    .expect("the officer is created");
    let name = student["name"].as_str().expect("a name").to_owned();
    (app, name)
}

/// Starts an instance of `app` on `port` with these provider entries.
pub async fn with_providers(app: &TestApp, port: u16, entries: &str) -> String {
    let file = app_file(app, entries);
    app.sibling_with(|config| {
        config.bind = format!("127.0.0.1:{port}");
        config.public_url = format!("http://127.0.0.1:{port}");
        config.sso_file = Some(file);
    })
    .await
}

pub fn app_file(app: &TestApp, entries: &str) -> PathBuf {
    let path = app
        .mail_dir
        .with_file_name(format!("providers-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, entries).expect("the provider file is written");
    path
}
