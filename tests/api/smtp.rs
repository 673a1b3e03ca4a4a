//! A small SMTP server inside the test process: it speaks enough of RFC 5321 for placemat's
//! mailer, keeps what it accepts, and can be told to refuse.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Accept,
    /// Answer every message with this permanent 5xx code.
    Reject(u16),
    /// Accept every message, after a pause, as a busy server does.
    Slow(Duration),
}

/// The server runs on a thread and runtime of its own, so that it still answers while a
/// test's runtime shuts down (placemat's mailer says QUIT to it then).
pub struct SmtpServer {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

/// A free port nothing listens on yet.
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_on(0)
    }

    pub fn start_on(port: u16) -> Self {
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("the SMTP server binds");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking socket");
        let port = listener.local_addr().expect("an address").port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(Mode::Accept));
        let (session_inbox, session_mode) = (Arc::clone(&inbox), Arc::clone(&mode));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the SMTP server");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(session(
                        stream,
                        Arc::clone(&session_inbox),
                        Arc::clone(&session_mode),
                    ));
                }
            });
        });
        Self { port, inbox, mode }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().expect("mode lock") = mode;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().expect("inbox lock").clone()
    }
}

async fn session(
    stream: TcpStream,
    inbox: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader);
    writer
        .write_all(b"220 localhost placemat test SMTP\r\n")
        .await?;
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                writer
                    .write_all(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?
            }
            "HELO" => writer.write_all(b"250 localhost\r\n").await?,
            "MAIL" => {
                rcpt_to.clear();
                writer.write_all(b"250 2.1.0 OK\r\n").await?;
            }
            "RCPT" => {
                rcpt_to.push(command.clone());
                writer.write_all(b"250 2.1.5 OK\r\n").await?;
            }
            "DATA" => {
                writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    data.extend_from_slice(unstuffed.as_bytes());
                }
                let current = *mode.lock().expect("mode lock");
                match current {
                    Mode::Accept => {
                        inbox.lock().expect("inbox lock").push(Received {
                            rcpt_to: rcpt_to.clone(),
                            data,
                        });
                        writer.write_all(b"250 2.0.0 queued\r\n").await?;
                    }
                    Mode::Slow(pause) => {
                        tokio::time::sleep(pause).await;
                        inbox.lock().expect("inbox lock").push(Received {
                            rcpt_to: rcpt_to.clone(),
                            data,
                        });
                        writer.write_all(b"250 2.0.0 queued\r\n").await?;
                    }
                    Mode::Reject(code) => {
                        writer
                            .write_all(
                                format!("{code} 5.7.1 recipient refused by policy\r\n").as_bytes(),
                            )
                            .await?
                    }
                }
            }
            "RSET" | "NOOP" => writer.write_all(b"250 2.0.0 OK\r\n").await?,
            "QUIT" => {
                writer.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => {
                writer
                    .write_all(b"502 5.5.2 command not recognised\r\n")
                    .await?
            }
        }
    }
}
