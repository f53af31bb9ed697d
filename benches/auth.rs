//! Timing parity of authentication: an unknown user, a wrong password, an invalid user and a
//! successful login should cost about the same, so response times do not reveal which logins
//! exist. Measured through the Directory on the in-memory store with the default argon2id
//! parameters; medians go to docs/benchmarks.md.
//!
//! ```text
//! cargo bench --bench auth
//! ```

use std::sync::Arc;

use clientele::model::{NewCustomerCompany, NewCustomerUser, Password, Validity};
use clientele::{Directory, InMemoryBackend};
use criterion::{Criterion, criterion_group, criterion_main};

fn auth(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = rt.block_on(async {
        let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
        dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "bench")
            .await
            .expect("company");
        for (login, validity) in [("valid", Validity::Valid), ("blocked", Validity::Invalid)] {
            dir.add_customer_user(
                NewCustomerUser::new(login, "B", "U", &format!("{login}@acme-corp.test"), "ACME")
                    .password("right-password"),
                "bench",
            )
            .await
            .expect("user");
            dir.set_validity(login, validity, "bench")
                .await
                .expect("validity");
        }
        dir
    });
    let right = Password::new("right-password");
    let wrong = Password::new("wrong-password");
    let mut group = c.benchmark_group("authenticate");
    group.sample_size(30);
    group.bench_function("valid login", |b| {
        b.iter(|| {
            rt.block_on(dir.authenticate("valid", &right))
                .expect("login")
        });
    });
    group.bench_function("wrong password", |b| {
        b.iter(|| {
            rt.block_on(dir.authenticate("valid", &wrong))
                .expect_err("refused")
        });
    });
    group.bench_function("unknown user", |b| {
        b.iter(|| {
            rt.block_on(dir.authenticate("nobody", &right))
                .expect_err("refused")
        });
    });
    group.bench_function("invalid user", |b| {
        b.iter(|| {
            rt.block_on(dir.authenticate("blocked", &right))
                .expect_err("refused")
        });
    });
    group.finish();
}

criterion_group!(benches, auth);
criterion_main!(benches);
