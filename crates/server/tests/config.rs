//! Configuration layering, validation and the sample files in `config/`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use profstage_server::config::{
    env_var_names, AuthConfig, Cli, Config, ConfigError, DatabaseConfig, DatabaseUrl, DevConfig,
    EnvVars, HttpConfig, LogConfig, LogFormat, MailConfig, MailPassword, MailSecurity, MediaConfig,
    RoomConfig, RoomId, SignallingConfig, TokenSecret, TurnConfig, TurnSecret, WebConfig,
};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn cli(args: &[&str]) -> Cli {
    let argv = std::iter::once("profstage").chain(args.iter().copied());
    Cli::try_parse_from(argv).expect("test flags parse")
}

fn env(pairs: &[(&str, &str)]) -> EnvVars {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A TOML file in the temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(text: &str) -> Self {
        let name = format!("profstage-config-{}.toml", uuid::Uuid::new_v4().simple());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, text).expect("temporary file is writable");
        Self(path)
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("temporary path is UTF-8")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn load(file: &str, env_pairs: &[(&str, &str)], flags: &[&str]) -> Result<Config, ConfigError> {
    let file = TempFile::new(file);
    let mut args = vec!["--config", file.arg()];
    args.extend_from_slice(flags);
    Config::load(&cli(&args), &env(env_pairs))
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test address parses")
}

/// Builds a configuration with every optional key set, so that serializing it names every key.
fn every_key_set() -> Config {
    Config {
        dev_mode: Some(true),
        http: HttpConfig {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..HttpConfig::default()
        },
        media: MediaConfig {
            udp_listen: addr("127.0.0.1:50000"),
            public_host: Some("203.0.113.10".to_owned()),
            public_port: Some(50000),
            tcp_listen: Some(addr("127.0.0.1:50000")),
            public_tcp_port: Some(443),
            workers: 3,
        },
        auth: AuthConfig {
            token_secret: Some(TokenSecret::new(SECRET)),
            dev_token_ttl_secs: 1,
            session_ttl_secs: 600,
            invite_ttl_hours: 24,
        },
        dev: DevConfig {
            enabled: Some(true),
        },
        web: WebConfig::default(),
        rooms: vec![RoomConfig {
            id: "demo".parse().unwrap(),
            title: "t".to_owned(),
            retention_days: Some(30),
        }],
        signalling: SignallingConfig::default(),
        log: LogConfig::default(),
        recording: Default::default(),
        storage: storage::StorageConfig {
            s3: storage::S3Config {
                endpoint: Some("http://127.0.0.1:3900".to_owned()),
                region: Some("garage".to_owned()),
                bucket: Some("recordings".to_owned()),
                access_key_id: Some("GK0".to_owned()),
                secret_access_key: Some(storage::SecretAccessKey::new("s")),
                ..Default::default()
            },
            ..Default::default()
        },
        database: DatabaseConfig {
            url: Some(DatabaseUrl::new("postgres://profstage@127.0.0.1/profstage")),
        },
        mail: MailConfig {
            host: Some("smtp.example.org".to_owned()),
            port: Some(587),
            username: Some("profstage".to_owned()),
            password: Some(MailPassword::new("p")),
            from: Some("Profstage <noreply@example.org>".to_owned()),
            ca_file: Some(PathBuf::from("/etc/profstage/smtp-ca.pem")),
            ..MailConfig::default()
        },
        turn: TurnConfig {
            urls: vec!["turns:turn.example.org:443?transport=tcp".to_owned()],
            shared_secret: Some(TurnSecret::new("t")),
            ..TurnConfig::default()
        },
    }
}

/// Dotted key paths of a TOML value, with array elements under their array's key.
fn key_paths(value: &toml::Value, prefix: &str, paths: &mut BTreeSet<String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, child) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                if !child.is_table() && !child.is_array() {
                    paths.insert(path.clone());
                }
                key_paths(child, &path, paths);
            }
        }
        toml::Value::Array(items) => {
            for item in items {
                key_paths(item, prefix, paths);
            }
        }
        _ => {}
    }
}

fn config_key_paths() -> BTreeSet<String> {
    let value = toml::Value::try_from(every_key_set()).unwrap();
    let mut paths = BTreeSet::new();
    key_paths(&value, "", &mut paths);
    paths
}

/// Turns commented-out settings such as `# public_port = 50000` into settings.
fn uncomment_settings(text: &str) -> String {
    let uncomment = |line: &str| -> Option<String> {
        let rest = line.strip_prefix("# ")?;
        let (key, _) = rest.split_once(" = ")?;
        let is_key = key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        is_key.then(|| rest.to_owned())
    };
    text.lines()
        .map(|line| uncomment(line).unwrap_or_else(|| line.to_owned()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn default_file_equals_defaults() {
    let parsed = Config::from_file(&repo_file("config/default.toml")).unwrap();
    assert_eq!(parsed, Config::default());
}

#[test]
fn default_file_names_every_key() {
    let text = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let uncommented: toml::Value = toml::from_str(&uncomment_settings(&text)).unwrap();
    let mut in_file = BTreeSet::new();
    key_paths(&uncommented, "", &mut in_file);

    let expected = config_key_paths();
    let missing: Vec<_> = expected.difference(&in_file).collect();
    assert!(
        missing.is_empty(),
        "keys missing from default.toml: {missing:?}"
    );

    // Commented-out example values must also be valid.
    let parsed: Result<Config, _> = toml::from_str(&uncomment_settings(&text));
    assert!(parsed.is_ok(), "{parsed:?}");
}

#[test]
fn every_scalar_key_has_env_var() {
    let names: BTreeSet<&str> = env_var_names().collect();
    for path in config_key_paths() {
        if path.starts_with("rooms.") {
            continue;
        }
        let name = format!("PROFSTAGE_{}", path.replace('.', "_").to_uppercase());
        assert!(
            names.contains(name.as_str()),
            "{path} has no variable {name}"
        );
    }
}

#[test]
fn every_flag_help_names_its_key() {
    let command = Cli::command();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if ["config", "help", "version"].contains(&id) {
            continue;
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        assert!(
            help.contains("(sets "),
            "--{id} help does not say what it sets: {help}"
        );
    }
}

#[test]
fn no_file_means_defaults() {
    // The tests run in crates/server, which has no config/default.toml.
    let loaded = Config::load(&cli(&[]), &EnvVars::new()).unwrap();
    assert_eq!(loaded, Config::default());
}

#[test]
fn file_overrides_defaults() {
    let loaded = load("[http]\nlisten = \"127.0.0.1:9001\"\n", &[], &[]).unwrap();
    assert_eq!(loaded.http.listen, addr("127.0.0.1:9001"));
    assert_eq!(loaded.media, MediaConfig::default());
}

#[test]
fn env_overrides_file() {
    let file = "[http]\nlisten = \"127.0.0.1:9001\"\n[log]\nformat = \"json\"\n";
    let vars = [("PROFSTAGE_HTTP_LISTEN", "127.0.0.1:9002")];
    let loaded = load(file, &vars, &[]).unwrap();
    assert_eq!(loaded.http.listen, addr("127.0.0.1:9002"));
    assert_eq!(loaded.log.format, LogFormat::Json);
}

#[test]
fn flag_overrides_env() {
    let file = "[http]\nlisten = \"127.0.0.1:9001\"\n";
    let vars = [
        ("PROFSTAGE_HTTP_LISTEN", "127.0.0.1:9002"),
        ("PROFSTAGE_MEDIA_PUBLIC_HOST", "192.0.2.1"),
    ];
    let flags = ["--http-listen", "127.0.0.1:9003"];
    let loaded = load(file, &vars, &flags).unwrap();
    assert_eq!(loaded.http.listen, addr("127.0.0.1:9003"));
    assert_eq!(loaded.media.public_host.as_deref(), Some("192.0.2.1"));
}

#[test]
fn every_layer_reaches_its_key() {
    let vars = [
        ("PROFSTAGE_AUTH_TOKEN_SECRET", SECRET),
        ("PROFSTAGE_MEDIA_PUBLIC_PORT", "40000"),
        ("PROFSTAGE_SIGNALLING_IDLE_TIMEOUT_SECS", "30"),
    ];
    let flags = [
        "--media-udp-listen",
        "0.0.0.0:50001",
        "--web-root",
        "/srv/web",
        "--signalling-max-message-bytes",
        "4096",
        "--log-format",
        "json",
    ];
    let loaded = load("", &vars, &flags).unwrap();
    assert_eq!(
        loaded.auth.token_secret.unwrap().expose(),
        SECRET.as_bytes()
    );
    assert_eq!(loaded.media.public_port, Some(40000));
    assert_eq!(loaded.signalling.idle_timeout_secs, 30);
    assert_eq!(loaded.media.udp_listen, addr("0.0.0.0:50001"));
    assert_eq!(loaded.web.root, PathBuf::from("/srv/web"));
    assert_eq!(loaded.signalling.max_message_bytes, 4096);
    assert_eq!(loaded.log.format, LogFormat::Json);
}

#[test]
fn empty_env_value_unsets_optional_key() {
    let file = "[media]\npublic_host = \"192.0.2.1\"\n";
    let loaded = load(file, &[("PROFSTAGE_MEDIA_PUBLIC_HOST", "")], &[]).unwrap();
    assert_eq!(loaded.media.public_host, None);
}

#[test]
fn unknown_env_var_is_rejected() {
    let error = load("", &[("PROFSTAGE_HTTP_LISTN", "x")], &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("PROFSTAGE_HTTP_LISTN"), "{message}");
    assert!(message.contains("PROFSTAGE_HTTP_LISTEN"), "{message}");
}

#[test]
fn invalid_env_value_names_variable_and_value() {
    let error = load("", &[("PROFSTAGE_HTTP_LISTEN", "localhost")], &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("PROFSTAGE_HTTP_LISTEN"), "{message}");
    assert!(message.contains("\"localhost\""), "{message}");
}

#[test]
fn invalid_file_value_names_key() {
    let error = load("[signalling]\nidle_timeout_secs = \"soon\"\n", &[], &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("idle_timeout_secs"), "{message}");
}

#[test]
fn unknown_file_key_is_rejected() {
    let error = load("[http]\nlisten_addr = \"127.0.0.1:1\"\n", &[], &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("listen_addr"), "{message}");
}

#[test]
fn dev_mode_follows_loopback_listen() {
    let local = load("", &[], &[]).unwrap();
    assert!(local.dev_mode());

    let vars = [("PROFSTAGE_AUTH_TOKEN_SECRET", SECRET)];
    let public = load("[http]\nlisten = \"0.0.0.0:8080\"\n", &vars, &[]).unwrap();
    assert!(!public.dev_mode());
}

#[test]
fn dev_section_sets_dev_mode() {
    let vars = [("PROFSTAGE_AUTH_TOKEN_SECRET", SECRET)];
    let loaded = load("[dev]\nenabled = false\n", &vars, &[]).unwrap();
    assert!(!loaded.dev_mode());
}

#[test]
fn dev_mode_and_section_must_agree() {
    let error = load("dev_mode = true\n[dev]\nenabled = false\n", &[], &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("dev.enabled"), "{message}");
    assert!(message.contains("dev_mode"), "{message}");
}

#[test]
fn dev_mode_flag_overrides_dev_section() {
    let vars = [("PROFSTAGE_AUTH_TOKEN_SECRET", SECRET)];
    let flags = ["--dev-mode", "false"];
    let loaded = load("[dev]\nenabled = true\n", &vars, &flags).unwrap();
    assert!(!loaded.dev_mode());
}

#[test]
fn dev_mode_env_overrides_file() {
    let vars = [("PROFSTAGE_DEV_ENABLED", "true")];
    let file = "dev_mode = false\n[http]\nlisten = \"0.0.0.0:8080\"\n";
    let loaded = load(file, &vars, &[]).unwrap();
    assert!(loaded.dev_mode());
}

#[test]
fn production_requires_secret() {
    let error = load("dev_mode = false\n", &[], &[]).unwrap_err();
    assert!(matches!(error, ConfigError::MissingSecret), "{error}");
    assert!(error.to_string().contains("PROFSTAGE_AUTH_TOKEN_SECRET"));
}

#[test]
fn short_secret_is_rejected_without_echo() {
    let vars = [("PROFSTAGE_AUTH_TOKEN_SECRET", "short-secret-xyz")];
    let error = load("", &vars, &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("auth.token_secret"), "{message}");
    assert!(message.contains("16 bytes"), "{message}");
    assert!(!message.contains("short-secret-xyz"), "{message}");
}

#[test]
fn bad_room_id_is_rejected() {
    let file = "[[rooms]]\nid = \"Room 1\"\ntitle = \"t\"\n";
    let message = load(file, &[], &[]).unwrap_err().to_string();
    assert!(message.contains("Room 1"), "{message}");
    assert!(message.contains("room id"), "{message}");
}

#[test]
fn duplicate_room_id_is_rejected() {
    let file = "[[rooms]]\nid = \"a\"\ntitle = \"A\"\n[[rooms]]\nid = \"a\"\ntitle = \"B\"\n";
    let message = load(file, &[], &[]).unwrap_err().to_string();
    assert!(message.contains("rooms[1].id"), "{message}");
    assert!(message.contains("duplicate"), "{message}");
}

#[test]
fn zero_limits_are_rejected() {
    let cases = [
        (
            "[signalling]\nidle_timeout_secs = 0\n",
            "signalling.idle_timeout_secs",
        ),
        (
            "[signalling]\nmax_message_bytes = 0\n",
            "signalling.max_message_bytes",
        ),
        (
            "[auth]\ndev_token_ttl_secs = 0\n",
            "auth.dev_token_ttl_secs",
        ),
        ("[media]\npublic_port = 0\n", "media.public_port"),
        ("[media]\nworkers = 257\n", "media.workers"),
    ];
    for (file, key) in cases {
        let message = load(file, &[], &[]).unwrap_err().to_string();
        assert!(message.contains(key), "{file}: {message}");
    }
}

#[test]
fn lifetimes_outside_bounds_are_rejected() {
    let cases = [
        ("[auth]\nsession_ttl_secs = 299\n", "auth.session_ttl_secs"),
        (
            "[auth]\nsession_ttl_secs = 604801\n",
            "auth.session_ttl_secs",
        ),
        ("[auth]\ninvite_ttl_hours = 0\n", "auth.invite_ttl_hours"),
        ("[auth]\ninvite_ttl_hours = 721\n", "auth.invite_ttl_hours"),
        (
            "[http]\nheader_timeout_secs = 0\n",
            "http.header_timeout_secs",
        ),
        (
            "[http]\nheader_timeout_secs = 601\n",
            "http.header_timeout_secs",
        ),
    ];
    for (file, key) in cases {
        let message = load(file, &[], &[]).unwrap_err().to_string();
        assert!(message.contains(key), "{file}: {message}");
        assert!(message.contains("must be from"), "{file}: {message}");
    }
    let edges = "[auth]\nsession_ttl_secs = 300\ninvite_ttl_hours = 720\n";
    let loaded = load(edges, &[], &[]).unwrap();
    assert_eq!(loaded.auth.lifetimes().session_ms, 300_000);
    assert_eq!(loaded.auth.lifetimes().default_invite_hours, 720);
}

#[test]
fn lifetimes_come_from_env() {
    let vars = [
        ("PROFSTAGE_AUTH_SESSION_TTL_SECS", "3600"),
        ("PROFSTAGE_AUTH_INVITE_TTL_HOURS", "12"),
    ];
    let loaded = load("", &vars, &[]).unwrap();
    assert_eq!(loaded.auth.session_ttl_secs, 3600);
    assert_eq!(loaded.auth.invite_ttl_hours, 12);
    let too_long = [("PROFSTAGE_AUTH_SESSION_TTL_SECS", "86400000")];
    let message = load("", &too_long, &[]).unwrap_err().to_string();
    assert!(message.contains("auth.session_ttl_secs"), "{message}");
}

fn proxies(config: &Config) -> Vec<String> {
    let list = config.http.trusted_proxies.iter();
    list.map(|proxy| proxy.to_string()).collect()
}

#[test]
fn trusted_proxies_come_from_file_and_env() {
    let file = "[http]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n";
    let loaded = load(file, &[], &[]).unwrap();
    let listed = proxies(&loaded);
    assert_eq!(listed, ["127.0.0.1", "10.0.0.0/8"]);

    let vars = [("PROFSTAGE_HTTP_TRUSTED_PROXIES", " ::1 , 192.0.2.0/24 ")];
    let loaded = load(file, &vars, &[]).unwrap();
    let listed = proxies(&loaded);
    assert_eq!(
        listed,
        ["::1", "192.0.2.0/24"],
        "the variable replaces the file's list"
    );

    let cleared = load(file, &[("PROFSTAGE_HTTP_TRUSTED_PROXIES", "")], &[]).unwrap();
    assert!(cleared.http.trusted_proxies.is_empty());
}

#[test]
fn invalid_trusted_proxy_is_rejected() {
    let file = "[http]\ntrusted_proxies = [\"proxy.example.org\"]\n";
    let message = load(file, &[], &[]).unwrap_err().to_string();
    assert!(message.contains("trusted_proxies"), "{message}");
    assert!(message.contains("proxy.example.org"), "{message}");

    let vars = [("PROFSTAGE_HTTP_TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/99")];
    let message = load("", &vars, &[]).unwrap_err().to_string();
    assert!(
        message.contains("PROFSTAGE_HTTP_TRUSTED_PROXIES"),
        "{message}"
    );
    assert!(message.contains("10.0.0.0/99"), "{message}");
}

#[test]
fn invalid_log_level_is_rejected() {
    let flags = ["--log-level", "profstage=loudest"];
    let message = load("", &[], &flags).unwrap_err().to_string();
    assert!(message.contains("log.level"), "{message}");
    assert!(message.contains("loudest"), "{message}");
}

#[test]
fn unspecified_public_host_is_rejected() {
    let message = load("[media]\npublic_host = \"0.0.0.0\"\n", &[], &[])
        .unwrap_err()
        .to_string();
    assert!(message.contains("media.public_host"), "{message}");
}

#[test]
fn malformed_public_host_is_rejected() {
    for host in ["", "[::1]", "bad host", "a..b", "http://x"] {
        let flags = ["--media-public-host", host];
        let message = load("", &[], &flags).unwrap_err().to_string();
        assert!(message.contains("media.public_host"), "{host:?}: {message}");
    }
}

#[test]
fn zero_public_port_flag_is_rejected() {
    let parsed = Cli::try_parse_from(["profstage", "--media-public-port", "0"]);
    assert!(parsed.is_err());
}

#[test]
fn production_file_rejects_placeholder_host() {
    let path = repo_file("config/production.toml");
    let args = cli(&["--config", path.to_str().unwrap()]);
    let vars = env(&[("PROFSTAGE_AUTH_TOKEN_SECRET", SECRET)]);
    let message = Config::load(&args, &vars).unwrap_err().to_string();
    assert!(message.contains("media.public_host"), "{message}");
    assert!(message.contains("placeholder"), "{message}");
}

#[test]
fn production_file_loads_once_host_and_secret_set() {
    let path = repo_file("config/production.toml");
    let args = cli(&["--config", path.to_str().unwrap()]);
    let vars = env(&[
        ("PROFSTAGE_AUTH_TOKEN_SECRET", SECRET),
        ("PROFSTAGE_MEDIA_PUBLIC_HOST", "192.0.2.7"),
    ]);
    let loaded = Config::load(&args, &vars).unwrap();
    assert!(!loaded.dev_mode());
    assert_eq!(loaded.http.listen, addr("0.0.0.0:8080"));
    assert_eq!(loaded.media.udp_listen, addr("0.0.0.0:50000"));
    let candidate = loaded.media.candidate_addr().unwrap();
    assert_eq!(candidate, addr("192.0.2.7:50000"));
}

#[test]
fn production_file_without_secret_fails() {
    let path = repo_file("config/production.toml");
    let args = cli(&["--config", path.to_str().unwrap()]);
    let vars = env(&[("PROFSTAGE_MEDIA_PUBLIC_HOST", "192.0.2.7")]);
    let error = Config::load(&args, &vars).unwrap_err();
    assert!(matches!(error, ConfigError::MissingSecret), "{error}");
}

#[test]
fn missing_file_names_path() {
    let args = cli(&["--config", "/nonexistent/profstage.toml"]);
    let message = Config::load(&args, &EnvVars::new())
        .unwrap_err()
        .to_string();
    assert!(message.contains("/nonexistent/profstage.toml"), "{message}");
}

#[test]
fn room_id_accepts_allowed_characters() {
    for id in ["demo", "a", "room_1-b", &"x".repeat(64)] {
        assert!(id.parse::<RoomId>().is_ok(), "{id:?} should be accepted");
    }
}

#[test]
fn room_id_rejects_bad_characters_and_lengths() {
    for id in ["", "Demo", "room 1", "комната", "a/b", &"x".repeat(65)] {
        assert!(id.parse::<RoomId>().is_err(), "{id:?} should be rejected");
    }
}

#[test]
fn token_secret_debug_hides_value() {
    let secret = TokenSecret::new("a-very-secret-value-that-must-not-leak");
    let config = AuthConfig {
        token_secret: Some(secret),
        ..AuthConfig::default()
    };
    let printed = format!("{config:?}");
    assert!(!printed.contains("very-secret"), "{printed}");
}

#[test]
fn candidate_prefers_loopback_for_unspecified_listen() {
    let media = MediaConfig {
        udp_listen: "0.0.0.0:50000".parse().unwrap(),
        ..MediaConfig::default()
    };
    let addr = media.candidate_addr().unwrap();
    assert_eq!(addr, "127.0.0.1:50000".parse().unwrap());
}

#[test]
fn candidate_uses_public_host_and_port() {
    let media = MediaConfig {
        udp_listen: "0.0.0.0:50000".parse().unwrap(),
        public_host: Some("192.0.2.10".to_owned()),
        public_port: Some(40000),
        ..MediaConfig::default()
    };
    let addr = media.candidate_addr().unwrap();
    assert_eq!(addr, "192.0.2.10:40000".parse().unwrap());
}

#[test]
fn turn_urls_need_shared_secret() {
    let error = load(
        "[turn]\nurls = [\"turns:turn.example.org:443\"]\n",
        &[],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("turn.shared_secret"), "{error}");
}

#[test]
fn turn_urls_must_be_turn_urls() {
    let file = "[turn]\nurls = [\"https://turn.example.org\"]\nshared_secret = \"s\"\n";
    let error = load(file, &[], &[]).unwrap_err().to_string();
    assert!(error.contains("turn.urls"), "{error}");
}

#[test]
fn turn_secret_from_environment_is_hidden() {
    let loaded = load(
        "[turn]\nurls = [\"turns:turn.example.org:443\"]\n",
        &[("PROFSTAGE_TURN_SHARED_SECRET", "very-secret-value")],
        &[],
    )
    .unwrap();
    let secret = loaded
        .turn
        .shared_secret
        .as_ref()
        .expect("the secret is set");
    assert_eq!(secret.expose(), b"very-secret-value");
    assert!(!format!("{loaded:?}").contains("very-secret-value"));
}

#[test]
fn tcp_candidate_off_by_default() {
    assert_eq!(MediaConfig::default().tcp_candidate_addr().unwrap(), None);
}

#[test]
fn tcp_candidate_uses_public_host_and_tcp_port() {
    let mut media = MediaConfig {
        udp_listen: "0.0.0.0:50000".parse().unwrap(),
        public_host: Some("192.0.2.10".to_owned()),
        public_port: Some(40000),
        tcp_listen: Some("0.0.0.0:50001".parse().unwrap()),
        public_tcp_port: None,
        workers: 0,
    };
    let addr = media.tcp_candidate_addr().unwrap();
    assert_eq!(addr, Some("192.0.2.10:50001".parse().unwrap()));

    media.public_tcp_port = Some(443);
    let addr = media.tcp_candidate_addr().unwrap();
    assert_eq!(addr, Some("192.0.2.10:443".parse().unwrap()));
}

#[test]
fn tcp_candidate_needs_a_port() {
    let media = MediaConfig {
        tcp_listen: Some("0.0.0.0:0".parse().unwrap()),
        ..MediaConfig::default()
    };
    let error = media.tcp_candidate_addr().unwrap_err().to_string();
    assert!(error.contains("public_tcp_port"), "{error}");
}

#[test]
fn candidate_resolves_localhost_to_ipv4() {
    let media = MediaConfig {
        public_host: Some("localhost".to_owned()),
        ..MediaConfig::default()
    };
    let addr = media.candidate_addr().unwrap();
    assert_eq!(addr, "127.0.0.1:50000".parse().unwrap());
}

#[test]
fn candidate_rejects_placeholder_without_lookup() {
    let media = MediaConfig {
        public_host: Some("set-public-host.invalid".to_owned()),
        ..MediaConfig::default()
    };
    let error = media.candidate_addr().unwrap_err().to_string();
    assert!(error.contains("media.public_host"), "{error}");
    assert!(error.contains("placeholder"), "{error}");
}

#[test]
fn candidate_needs_a_port() {
    let media = MediaConfig {
        udp_listen: "127.0.0.1:0".parse().unwrap(),
        ..MediaConfig::default()
    };
    let error = media.candidate_addr().unwrap_err();
    assert!(matches!(error, ConfigError::NoCandidatePort), "{error}");
}

const MAIL: &str =
    "[mail]\nhost = \"smtp.example.org\"\nfrom = \"Profstage <noreply@example.org>\"\n";

#[test]
fn mail_is_off_by_default() {
    let loaded = load("", &[], &[]).unwrap();
    assert_eq!(loaded.mail.host, None);
    assert_eq!(loaded.mail.security, MailSecurity::Starttls);
    assert_eq!(loaded.mail.port(), 587);
}

#[test]
fn mail_comes_from_file_and_env() {
    let vars = [
        ("PROFSTAGE_MAIL_SECURITY", "tls"),
        ("PROFSTAGE_MAIL_USERNAME", "profstage"),
        ("PROFSTAGE_MAIL_PASSWORD", "mail-password-xyz"),
        ("PROFSTAGE_MAIL_TIMEOUT_SECS", "3"),
    ];
    let loaded = load(MAIL, &vars, &[]).unwrap();
    assert_eq!(loaded.mail.host.as_deref(), Some("smtp.example.org"));
    assert_eq!(loaded.mail.security, MailSecurity::Tls);
    assert_eq!(loaded.mail.port(), 465);
    assert_eq!(loaded.mail.timeout_secs, 3);
    let password = loaded.mail.password.as_ref().unwrap();
    assert_eq!(password.expose(), "mail-password-xyz");
    assert_eq!(
        loaded.mail.sender().unwrap().email.to_string(),
        "noreply@example.org"
    );

    let debug_and_toml = format!("{loaded:?} {}", toml::to_string(&loaded).unwrap());
    assert!(
        !debug_and_toml.contains("mail-password-xyz"),
        "{debug_and_toml}"
    );
}

#[test]
fn mail_needs_sender() {
    let error = load("[mail]\nhost = \"smtp.example.org\"\n", &[], &[]).unwrap_err();
    assert!(error.to_string().contains("mail.from"), "{error}");

    let bad = MAIL.replace("Profstage <noreply@example.org>", "noreply at example.org");
    let error = load(&bad, &[], &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("mail.from"), "{message}");
    assert!(message.contains("noreply at example.org"), "{message}");
}

#[test]
fn plain_mail_only_to_loopback() {
    let plain = format!("{MAIL}security = \"none\"\n");
    let error = load(&plain, &[], &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("mail.security"), "{message}");
    assert!(message.contains("loopback"), "{message}");

    for host in ["127.0.0.1", "localhost", "::1"] {
        let vars = [("PROFSTAGE_MAIL_HOST", host)];
        let loaded = load(&plain, &vars, &[]).unwrap();
        assert_eq!(loaded.mail.port(), 25, "{host}");
    }
}

#[test]
fn mail_credentials_come_in_pairs() {
    let vars = [("PROFSTAGE_MAIL_USERNAME", "profstage")];
    let error = load(MAIL, &vars, &[]).unwrap_err();
    assert!(error.to_string().contains("mail.password"), "{error}");

    let vars = [("PROFSTAGE_MAIL_PASSWORD", "mail-password-xyz")];
    let error = load(MAIL, &vars, &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("mail.username"), "{message}");
    assert!(!message.contains("mail-password-xyz"), "{message}");
}

#[test]
fn mail_keys_need_host() {
    let vars = [("PROFSTAGE_MAIL_HOST", "")];
    let error = load(MAIL, &vars, &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("mail.from"), "{message}");
    assert!(message.contains("mail.host"), "{message}");
}

#[test]
fn invalid_mail_values_are_rejected() {
    let zero_port = format!("{MAIL}port = 0\n");
    let error = load(&zero_port, &[], &[]).unwrap_err();
    assert!(error.to_string().contains("mail.port"), "{error}");

    let zero_timeout = format!("{MAIL}timeout_secs = 0\n");
    let error = load(&zero_timeout, &[], &[]).unwrap_err();
    assert!(error.to_string().contains("mail.timeout_secs"), "{error}");

    let error = load(MAIL, &[("PROFSTAGE_MAIL_SECURITY", "ssl")], &[]).unwrap_err();
    assert!(
        error.to_string().contains("none, starttls or tls"),
        "{error}"
    );
}
