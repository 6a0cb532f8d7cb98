//! `each_backend!(name, |control| async move { … })`: one test that runs its body once per
//! store backend (SQLite always; PostgreSQL when the test script started one), each time on a
//! fresh store.

macro_rules! each_backend {
    ($name:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in regpilot_store::testing::backends() {
                eprintln!("backend: {}", backend.as_str());
                let control = regpilot_control::Control::new(regpilot_store::testing::fresh_store(backend).await);
                let f = $body;
                f(control).await;
            }
        }
    };
}
