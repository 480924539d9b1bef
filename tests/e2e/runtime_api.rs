//! A minimal Lambda Runtime API for running a packaged `bootstrap` in a test: it hands out the
//! queued events on `/invocation/next` and records what the function posts back. HTTP/1.1 with
//! keep-alive, one thread per connection; enough for one function process.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the function posted: the path (`/2018-06-01/runtime/...`), its headers (lower-cased
/// names) and its body.
#[derive(Debug, Clone)]
pub struct Posted {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

pub struct RuntimeApi {
    pub address: SocketAddr,
    events: Arc<Mutex<VecDeque<(String, String)>>>,
    posted: Receiver<Posted>,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the Runtime API");
        let address = listener.local_addr().unwrap();
        let events = Arc::new(Mutex::new(VecDeque::new()));
        let (sender, posted) = channel();
        let shared = events.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let events = shared.clone();
                let sender = sender.clone();
                std::thread::spawn(move || serve_connection(stream, &events, &sender));
            }
        });
        RuntimeApi {
            address,
            events,
            posted,
        }
    }

    /// Queues an invocation with this request id and JSON payload.
    pub fn invoke(&self, request_id: &str, payload: &serde_json::Value) {
        self.events
            .lock()
            .unwrap()
            .push_back((request_id.to_owned(), payload.to_string()));
    }

    /// The next thing the function posted, waiting up to `timeout`.
    pub fn next_posted(&self, timeout: Duration) -> Posted {
        self.posted.recv_timeout(timeout).unwrap_or_else(|_| {
            panic!("the function posted nothing to the Runtime API within {timeout:?}")
        })
    }
}

fn serve_connection(
    stream: TcpStream,
    events: &Mutex<VecDeque<(String, String)>>,
    posted: &Sender<Posted>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut words = request_line.split_whitespace();
        let (method, path) = (
            words.next().unwrap_or(""),
            words.next().unwrap_or("").to_owned(),
        );
        let response = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            // Long-poll, as Lambda does, until an event is queued.
            let (request_id, payload) = loop {
                if let Some(event) = events.lock().unwrap().pop_front() {
                    break event;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {request_id}\r\nlambda-runtime-deadline-ms: {}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:test\r\ncontent-length: {}\r\n\r\n{payload}",
                deadline_ms(),
                payload.len()
            )
        } else {
            let _ = posted.send(Posted {
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            "HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n".to_owned()
        };
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn deadline_ms() -> u128 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now + Duration::from_secs(30)).as_millis()
}
