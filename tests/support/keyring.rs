//! A private, real Secret Service per test: its own D-Bus session bus and an unlocked gnome-keyring
//! daemon whose files live in a temp dir. Processes given `vars()` share it; dropped, it stops.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

pub struct KeyringService {
    bus: Child,
    daemon: Option<Child>,
    address: String,
    home: tempfile::TempDir,
}

impl KeyringService {
    pub fn start() -> KeyringService {
        for tool in ["dbus-daemon", "gnome-keyring-daemon"] {
            assert!(
                Command::new("sh")
                    .arg("-c")
                    .arg(format!("command -v {tool}"))
                    .stdout(Stdio::null())
                    .status()
                    .unwrap()
                    .success(),
                "`{tool}` is missing: install the Debian packages dbus and gnome-keyring (scripts/setup-system does)"
            );
        }
        let home = tempfile::tempdir().unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .env("HOME", home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {address:?}");
        let mut svc = KeyringService { bus, daemon: None, address, home };
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(svc.vars())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(svc.home.path().join("gnome-keyring.log")).unwrap()))
            .spawn()
            .expect("start gnome-keyring-daemon");
        daemon.stdin.take().unwrap().write_all(b"stackc-test-keyring").unwrap();
        svc.daemon = Some(daemon);
        // Wait until the Secret Service answers on the bus. Ask the bus first: asking the service itself
        // would make the bus start another, locked one.
        let send = |dest: &str, path: &str, method: &str, arg: &str| {
            Command::new("dbus-send")
                .args(["--session", "--print-reply", &format!("--dest={dest}"), path, method, arg])
                .envs(svc.vars())
                .output()
                .map(|o| {
                    (
                        o.status.success(),
                        String::from_utf8_lossy(&o.stdout).into_owned(),
                        String::from_utf8_lossy(&o.stderr).into_owned(),
                    )
                })
                .unwrap_or((false, String::new(), String::new()))
        };
        let owner = || {
            send(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            )
        };
        let alias = || {
            send(
                "org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.ReadAlias",
                "string:default",
            )
        };
        for _ in 0..100 {
            if !owner().1.contains("boolean true") {
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
            // Ready when the default collection exists and is unlocked.
            let (ok, out, _) = alias();
            if ok && out.contains("/org/freedesktop/secrets/collection/") {
                return svc;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let (_, out, err) = alias();
        panic!(
            "the Secret Service did not come up: {out}{err}\n{}",
            std::fs::read_to_string(svc.home.path().join("gnome-keyring.log")).unwrap_or_default()
        );
    }

    pub fn vars(&self) -> Vec<(String, String)> {
        let home = self.home.path().display().to_string();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            ("HOME".into(), home.clone()),
            ("XDG_DATA_HOME".into(), format!("{home}/data")),
            ("XDG_RUNTIME_DIR".into(), home.clone()),
            ("STACKC_KEYRING".into(), "secret-service".into()),
        ]
    }
}

impl Drop for KeyringService {
    fn drop(&mut self) {
        if let Some(d) = &mut self.daemon {
            let _ = d.kill();
            let _ = d.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
