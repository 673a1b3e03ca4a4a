//! Page benchmark over the demo alliance: signs in as each demo role through the sign-in
//! form and asks for the role's home page repeatedly; reports the median and 95th
//! percentile time to the full answer (every tab of the officer's page) (on localhost, an upper bound of the server time)
//! and the size of the page with its stylesheet and icon.
//!
//!     cargo run --release --example bench_pages [-- --requests 200]

use placemat::config::Config;
use placemat::startup::Application;
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `href`/`src` of the page's stylesheet and icon.
fn assets_of(page: &str) -> Vec<String> {
    page.match_indices("/static/")
        .map(|(start, _)| {
            page[start..]
                .split(['"', '\''])
                .next()
                .unwrap_or_default()
                .replace("&amp;", "&")
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests = arg("--requests", 200).max(1);
    let workdir = tempfile::tempdir()?;
    let config = Config {
        database_url: format!("sqlite://{}", workdir.path().join("bench.db").display()),
        bind: "127.0.0.1:0".into(),
        mail_dir: workdir.path().join("mail"),
        ..Config::default()
    };
    let app = Application::build(config).await?;
    let db = app.database().clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let seed_db = db.clone();
    let report = tokio::task::spawn_blocking(move || placemat::seed::demo(&seed_db)).await??;
    let logins: Vec<(String, String)> = report
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(role), Some(email), None) if email.contains('@') => {
                    Some((role.to_owned(), email.to_owned()))
                }
                _ => None,
            }
        })
        .collect();
    println!("demo alliance loaded; {requests} requests per role home, one session each");
    println!(
        "{:<18} {:<30} {:>10} {:>10} {:>12} {:>14}",
        "role", "page", "median ms", "p95 ms", "page bytes", "with assets"
    );
    for (role, email) in logins {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let signed_in = client
            .post(format!("{address}/login"))
            .header("cookie", "placemat_form=bench")
            .form(&[
                ("email", email.as_str()),
                ("password", placemat::seed::DEMO_PASSWORD),
                ("csrf_token", "bench"),
            ])
            .send()
            .await?;
        let session = signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| value.strip_prefix("placemat_session="))
            .and_then(|rest| rest.split(';').next())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("{email} could not sign in"))?;
        let cookie = format!("placemat_session={session}; lang=en");
        let home = client
            .get(format!("{address}/"))
            .header("cookie", &cookie)
            .send()
            .await?
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("/")
            .to_owned();
        // The officer's and the alliance's pages show one tab at a time: each is measured.
        let mut paths = vec![home.clone()];
        if home == "/university" {
            paths.push("/university?tab=placements".to_owned());
            paths.push("/university?tab=statistics".to_owned());
        }
        if home == "/alliance" {
            for tab in ["cycles", "emails", "statistics"] {
                paths.push(format!("/alliance?tab={tab}"));
            }
        }
        for path in paths {
            let mut times = Vec::with_capacity(requests);
            let mut page = String::new();
            for _ in 0..requests {
                let started = Instant::now();
                let response = client
                    .get(format!("{address}{path}"))
                    .header("cookie", &cookie)
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "{path}: {}",
                    response.status()
                );
                page = response.text().await?;
                times.push(started.elapsed());
            }
            times.sort();
            let median = times[times.len() / 2];
            let p95 = times[((times.len() - 1) as f64 * 0.95).round() as usize];
            let mut total = page.len();
            for asset in assets_of(&page) {
                total += client
                    .get(format!("{address}{asset}"))
                    .send()
                    .await?
                    .bytes()
                    .await?
                    .len();
            }
            println!(
                "{role:<18} {path:<30} {:>10.2} {:>10.2} {:>12} {:>14}",
                ms(median),
                ms(p95),
                page.len(),
                total
            );
        }
    }
    Ok(())
}
