//! Just enough of the W3C WebDriver protocol to drive headless Chromium through
//! `chromedriver`: open pages, find controls by their label or name, click, type, read,
//! resize the viewport and take screenshots.

use base64::Engine;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Why the suite cannot run here, or what it runs with.
pub enum Availability {
    Ready { driver: PathBuf, browser: PathBuf },
    Missing(String),
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

pub fn availability() -> Availability {
    let driver = on_path("chromedriver");
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| on_path(name));
    match (driver, browser) {
        (Some(driver), Some(browser)) => Availability::Ready { driver, browser },
        (None, _) => Availability::Missing("chromedriver is not installed".into()),
        (_, None) => Availability::Missing("chromium is not installed".into()),
    }
}

/// A running chromedriver with one headless Chromium session; both end when dropped.
pub struct Browser {
    process: Child,
    endpoint: String,
    session: String,
    http: reqwest::Client,
}

/// A control found on the page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    pub async fn start(driver: &Path, browser: &Path) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        // A process group of its own, so that dropping the browser ends chromedriver and
        // every Chromium process it started, whatever state the session is in.
        let process = Command::new(driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(response) = http.get(format!("{endpoint}/status")).send().await {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == json!(true) {
                    ready = true;
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(ready, "chromedriver did not come up");
        let created: Value = http
            .post(format!("{endpoint}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": browser,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1280,900",
                             "--lang=zh-CN", "--hide-scrollbars"],
                },
            }}}))
            .send()
            .await
            .expect("a session request")
            .json()
            .await
            .expect("a session answer");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        Browser {
            process,
            endpoint,
            session,
            http,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.endpoint, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a JSON answer");
        if answer["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The path of the current page, without its query.
    pub async fn path(&self) -> String {
        let url = self.url().await;
        let after_host = url.splitn(4, '/').nth(3).unwrap_or_default();
        format!("/{}", after_host.split('?').next().unwrap_or_default())
    }

    async fn find_all(&self, xpath: &str) -> Vec<Element<'_>> {
        let found = self
            .post("/elements", json!({"using": "xpath", "value": xpath}))
            .await;
        found
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item[ELEMENT_KEY].as_str())
                    .map(|id| Element {
                        browser: self,
                        id: id.to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first match, waiting for a page still loading after a click.
    /// Waits until the page marked before a click has been replaced and has loaded; a click
    /// that leads nowhere is let go after a while.
    pub async fn wait_for_next_page(&self) {
        for _ in 0..300 {
            let arrived = self
                .script("return !window.placematLeaving && document.readyState === 'complete';")
                .await;
            if arrived.as_bool() == Some(true) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, xpath: &str, what: &str) -> Element<'_> {
        for _ in 0..300 {
            if let Some(found) = self.find_all(xpath).await.into_iter().next() {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no {what} on the page")
    }

    /// The field whose `<label>` reads `label`.
    pub async fn field(&self, label: &str) -> Element<'_> {
        let xpath = format!("//*[@id=//label[normalize-space()={}]/@for]", quoted(label));
        self.find(&xpath, &format!("field labelled `{label}`"))
            .await
    }

    /// The input named `name`, for another site's form whose fields carry no label.
    pub async fn input_named(&self, name: &str) -> Element<'_> {
        let xpath = format!("//input[@name={}]", quoted(name));
        self.find(&xpath, &format!("input named `{name}`")).await
    }

    /// The button (or the link in the role of one) whose name starts with `name`.
    pub async fn button(&self, name: &str) -> Element<'_> {
        let xpath = format!(
            "//*[self::button or @role='button'][starts-with(normalize-space(), {})]",
            quoted(name)
        );
        self.find(&xpath, &format!("button `{name}`")).await
    }

    /// The link whose text starts with `name`.
    pub async fn link(&self, name: &str) -> Element<'_> {
        let xpath = format!("//a[starts-with(normalize-space(), {})]", quoted(name));
        self.find(&xpath, &format!("link `{name}`")).await
    }

    /// The texts of the headings of the page, top to bottom.
    pub async fn headings(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for heading in self.find_all("//h1 | //h2").await {
            texts.push(heading.text().await);
        }
        texts
    }

    /// Everything the page says.
    pub async fn text(&self) -> String {
        self.find("//body", "body").await.text().await
    }

    pub async fn script(&self, source: &str) -> Value {
        self.post("/execute/sync", json!({"script": source, "args": []}))
            .await
    }

    /// The value of a cookie of the current site, HttpOnly ones included.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let cookies = self.get("/cookie").await;
        cookies.as_array().and_then(|all| {
            all.iter()
                .find(|cookie| cookie["name"] == name)
                .and_then(|cookie| cookie["value"].as_str().map(str::to_owned))
        })
    }

    /// The full description of a cookie, as the browser keeps it.
    pub async fn cookie_record(&self, name: &str) -> Value {
        self.get(&format!("/cookie/{name}")).await
    }

    /// Makes the viewport `width` CSS pixels wide, as a phone (375) or a desk (1280).
    pub async fn viewport(&self, width: u32) {
        let mobile = width < 600;
        self.post(
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": width, "height": if mobile { 812 } else { 900 },
                "deviceScaleFactor": 1, "mobile": mobile,
            }}),
        )
        .await;
    }

    /// Saves a screenshot of the whole page under `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let metrics = self
            .script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];")
            .await;
        let png = self
            .post(
                "/goog/cdp/execute",
                json!({"cmd": "Page.captureScreenshot", "params": {
                    "format": "png", "captureBeyondViewport": true,
                    "clip": {"x": 0, "y": 0, "width": metrics[0], "height": metrics[1], "scale": 1},
                }}),
            )
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png["data"].as_str().expect("a screenshot"))
            .expect("base64");
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).expect("a screenshots folder");
        std::fs::write(dir.join(format!("{name}.png")), bytes).expect("the screenshot is saved");
    }
}

fn screenshots_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("screenshots")
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A plain blocking request: the test's runtime may already be shutting down.
        let address = self.endpoint.trim_start_matches("http://").to_owned();
        if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
            let request = format!(
                "DELETE /session/{} HTTP/1.0\r\nHost: {address}\r\n\r\n",
                self.session
            );
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(20)));
            if stream.write_all(request.as_bytes()).is_ok() {
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
            }
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.process.id())])
            .status();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Element<'_> {
    /// Clicks, and when the element is a button or a link, waits for the page it leads to:
    /// WebDriver may answer the click before the next page has arrived.
    pub async fn click(&self) {
        let tag = self
            .browser
            .get(&format!("/element/{}/name", self.id))
            .await;
        let navigates = matches!(tag.as_str(), Some("button") | Some("a"));
        if navigates {
            self.browser
                .script("window.placematLeaving = true; return null;")
                .await;
        }
        self.browser
            .post(&format!("/element/{}/click", self.id), json!({}))
            .await;
        if navigates {
            self.browser.wait_for_next_page().await;
        }
    }

    pub async fn type_text(&self, text: &str) {
        self.browser
            .post(
                &format!("/element/{}/value", self.id),
                json!({ "text": text }),
            )
            .await;
    }

    pub async fn text(&self) -> String {
        self.browser
            .get(&format!("/element/{}/text", self.id))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// An XPath string literal for any text.
fn quoted(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else {
        format!("\"{text}\"")
    }
}

impl Browser {
    /// Replaces the text of the field whose `<label>` reads `label`.
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        self.post(&format!("/element/{}/clear", field.id), json!({}))
            .await;
        field.type_text(text).await;
    }

    /// The current value of the field whose `<label>` reads `label`.
    pub async fn value_of(&self, label: &str) -> String {
        let field = self.field(label).await;
        self.get(&format!("/element/{}/property/value", field.id))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}
