//! A real SMTP server for tests: aiosmtpd from Debian's python3-aiosmtpd on a free loopback
//! port, storing each message it accepts in a Maildir that the tests read back with
//! Python's own e-mail parser.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Debian's interpreter, which has the python3-aiosmtpd package; a `python3` earlier on
/// `PATH` may not.
const PYTHON: &str = "/usr/bin/python3";

/// Prints the messages of a Maildir as JSON, with headers and body decoded.
const READ_MAILDIR: &str = r#"
import email, email.policy, json, mailbox, sys
def parse(file):
    return email.message_from_binary_file(file, policy=email.policy.default)
messages = []
for message in mailbox.Maildir(sys.argv[1], factory=parse, create=False):
    messages.append({
        "envelope_to": str(message["X-RcptTo"]),
        "to": str(message["To"]),
        "from": str(message["From"]),
        "subject": str(message["Subject"]),
        "content_type": message.get_content_type(),
        "body": message.get_content(),
    })
print(json.dumps(messages))
"#;

/// An aiosmtpd server that requires STARTTLS and then a login. Arguments: host, port,
/// Maildir, user, password, certificate file, key file, and `silent` to send no reply to a
/// failed login, or `answer` to send 535.
const LOGIN_SERVER: &str = r#"
import signal, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
host, port, maildir, user, password, cert, key, failed = sys.argv[1:9]
def authenticate(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == user.encode() \
        and data.password == password.encode()
    return AuthResult(success=ok, handled=not ok and failed == "silent")
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Mailbox(maildir), hostname=host, port=int(port),
    authenticator=authenticate, auth_required=True, auth_require_tls=True,
    require_starttls=True, tls_context=context)
controller.start()
signal.sigwait({signal.SIGTERM, signal.SIGINT})
"#;

/// One message the server accepted.
#[derive(Debug, Deserialize)]
pub struct Mail {
    /// The recipients of the SMTP envelope (`RCPT TO`).
    pub envelope_to: String,
    /// The `To` header, decoded.
    pub to: String,
    /// The `From` header, decoded.
    pub from: String,
    /// The `Subject` header, decoded.
    pub subject: String,
    /// The MIME type of the body.
    pub content_type: String,
    /// The body, with its transfer encoding undone.
    pub body: String,
}

/// A running aiosmtpd, stopped on drop.
pub struct SmtpServer {
    child: Child,
    addr: SocketAddr,
    maildir: PathBuf,
    log: PathBuf,
    _folder: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts aiosmtpd with `args` added to its command line, such as `["-s", "100"]` for
    /// a size limit, and waits until it accepts connections.
    pub fn start(args: &[&str]) -> Self {
        Self::spawn(|addr, maildir| {
            let mut command = Command::new(PYTHON);
            command
                .args(["-m", "aiosmtpd", "-n", "-l", &addr.to_string()])
                .args(args)
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(maildir);
            command
        })
    }

    /// Starts aiosmtpd so that it takes a message only after STARTTLS with `certificate` and
    /// a login (PLAIN or LOGIN) as `user` with `password`. A failed login gets 535, or no
    /// reply at all when `silent`.
    pub fn start_with_login(
        certificate: &TestCertificate,
        user: &str,
        password: &str,
        silent: bool,
    ) -> Self {
        Self::spawn(|addr, maildir| {
            let mut command = Command::new(PYTHON);
            command
                .args(["-c", LOGIN_SERVER])
                .arg(addr.ip().to_string())
                .arg(addr.port().to_string())
                .arg(maildir)
                .args([user, password])
                .arg(&certificate.cert)
                .arg(&certificate.key)
                .arg(if silent { "silent" } else { "answer" });
            command
        })
    }

    fn spawn(command: impl FnOnce(SocketAddr, &std::path::Path) -> Command) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let maildir = folder.path().join("maildir");
        let addr = free_loopback_addr();
        // The log goes to a file, because the tests provoke failed TLS handshakes on purpose.
        let log = folder.path().join("aiosmtpd.log");
        let child = command(addr, &maildir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("failed to start {PYTHON} ({error}); run scripts/install-deps test")
            });
        let mut server = Self {
            child,
            addr,
            maildir,
            log,
            _folder: folder,
        };
        server.wait_until_listening();
        server
    }

    /// Returns the port the server listens on, at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Returns every message received so far, in no particular order.
    pub fn messages(&self) -> Vec<Mail> {
        if !self.maildir.exists() {
            return Vec::new();
        }
        let output = Command::new(PYTHON)
            .args(["-c", READ_MAILDIR])
            .arg(&self.maildir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "reading the Maildir failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(self.addr).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("aiosmtpd exited with {status}; is python3-aiosmtpd installed?\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for 127.0.0.1 and its key, made with the openssl command, which
/// the server presents and the client trusts as its own root.
pub struct TestCertificate {
    /// The certificate, PEM.
    pub cert: PathBuf,
    /// The private key, PEM without a passphrase.
    pub key: PathBuf,
    _folder: tempfile::TempDir,
}

impl TestCertificate {
    /// Generates a certificate valid for one day.
    pub fn generate() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let cert = folder.path().join("cert.pem");
        let key = folder.path().join("key.pem");
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs; run scripts/install-deps test");
        assert!(status.success(), "openssl req failed with {status}");
        Self {
            cert,
            key,
            _folder: folder,
        }
    }

    /// Returns aiosmtpd's options that offer STARTTLS with this certificate and require it
    /// before any message.
    pub fn starttls_args(&self) -> Vec<String> {
        self.args("--tlscert", "--tlskey")
    }

    /// Returns aiosmtpd's options that speak TLS from the first byte (SMTPS).
    pub fn smtps_args(&self) -> Vec<String> {
        self.args("--smtpscert", "--smtpskey")
    }

    fn args(&self, cert_option: &str, key_option: &str) -> Vec<String> {
        vec![
            cert_option.to_owned(),
            self.cert.display().to_string(),
            key_option.to_owned(),
            self.key.display().to_string(),
        ]
    }
}

/// Returns a loopback address with a port that nothing listens on at the moment.
pub fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}
