//! A fresh local AWS emulator per test: moto's server through tests/emulator/moto_shim.py on a free
//! loopback port, from the venv made by scripts/setup-venv. Dropped, it stops.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{repo, venv, Run};

pub struct Emulator {
    pub port: u16,
    child: Child,
}

impl Emulator {
    pub fn start() -> Emulator {
        Emulator::start_with(&[])
    }

    /// With the shim's options: `--pace FACTOR` (AWS's durations times FACTOR), `--throttle RATE`.
    pub fn start_with(options: &[&str]) -> Emulator {
        let python = venv().join("bin/python");
        assert!(python.is_file(), "no venv at {}: run scripts/setup-venv", venv().display());
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&python)
            .arg(repo().join("tests/emulator/moto_shim.py"))
            .arg(port.to_string())
            .args(options)
            .env("MOTO_ACM_VALIDATION_WAIT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let emu = Emulator { port, child };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if emu.get("/moto-api/").is_some() {
                return emu;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the emulator did not answer on port {port} within 60 s");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.starts_with("HTTP/1.").then_some(out)
    }

    /// Run a helper script from tests/emulator with the venv's Python.
    pub fn python(&self, script: &str, stdin: &str) -> Run {
        self.python_with(script, &[], stdin)
    }

    /// Like `python`, with arguments after the endpoint.
    pub fn python_with(&self, script: &str, args: &[&str], stdin: &str) -> Run {
        let mut child = Command::new(venv().join("bin/python"))
            .arg(repo().join("tests/emulator").join(script))
            .arg(self.url())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every stack as JSON (status, parameters, outputs, tags).
    pub fn stacks(&self) -> serde_json::Value {
        self.state()["stacks"].clone()
    }

    /// Every stack of another region, as `stacks` gives them.
    pub fn stacks_in(&self, region: &str) -> serde_json::Value {
        let out = Command::new(venv().join("bin/python"))
            .arg(repo().join("tests/emulator/describe.py"))
            .arg(self.url())
            .arg(region)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["stacks"].clone()
    }

    /// Every SSM parameter, decrypted, by name.
    pub fn ssm(&self) -> serde_json::Value {
        self.state()["ssm"].clone()
    }

    fn state(&self) -> serde_json::Value {
        let run = self.python("describe.py", "");
        run.ok();
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// One AWS call, for assertions: the response as JSON.
    pub fn query(&self, service: &str, method: &str, args: serde_json::Value) -> serde_json::Value {
        let run = self
            .python("query.py", &serde_json::json!({"service": service, "method": method, "args": args}).to_string());
        run.ok();
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// Seed values; returns what was created (certificate ARNs, zone ids).
    pub fn seed(&self, spec: &serde_json::Value) -> serde_json::Value {
        let run = self.python("seed.py", &spec.to_string());
        run.ok();
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// stackc against this emulator, with dummy credentials and stdin not a terminal.
    pub fn stackc(&self, dir: &Path, args: &[&str]) -> Run {
        self.stackc_with(dir, args, &[], None)
    }

    /// Like `stackc`, with more environment variables and, if given, text on stdin.
    pub fn stackc_with(&self, dir: &Path, args: &[&str], extra: &[(String, String)], stdin: Option<&str>) -> Run {
        let url = self.url();
        let mut vars: Vec<(String, String)> = [
            ("AWS_ENDPOINT_URL", url.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.extend(extra.iter().cloned());
        super::stackc_io(dir, args, &vars, stdin)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
