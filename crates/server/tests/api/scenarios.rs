//! Runs every scenario of a test file on SQLite and on PostgreSQL.

/// Defines a test `sqlite::name` for every listed scenario `async fn name(w: World)`, each
/// on a SQLite database of its own. One more test, `every_scenario_on_postgres`, runs them
/// all in turn on databases of one PostgreSQL server. Each scenario gets the world that
/// `world(url: String)` of the calling file builds. The SQLite tests run on tokio's
/// current-thread runtime unless the list starts with `multi_thread;`.
macro_rules! scenarios {
    (multi_thread; $($name:ident),* $(,)?) => {
        $crate::api::scenarios!(@tests "multi_thread"; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::api::scenarios!(@tests "current_thread"; $($name),*);
    };
    (@tests $flavor:tt; $($name:ident),*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = $flavor)]
                async fn $name() {
                    let folder = ::tempfile::tempdir().unwrap();
                    let url = ::profstage_contest::testing::sqlite_url(folder.path());
                    super::$name(world(url).await).await;
                }
            )*
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn every_scenario_on_postgres() {
            let server = ::profstage_contest::testing::PostgresServer::start();
            $(
                eprintln!("postgres: {}", stringify!($name));
                $name(world(server.create_database().await).await).await;
            )*
        }
    };
}

pub(crate) use scenarios;
