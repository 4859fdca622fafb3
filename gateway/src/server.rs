//! Builds a node's services and runs the HTTP/WebSocket server until it is told to stop.
//!
//! Shutdown (SIGTERM or Ctrl-C): stop accepting connections, cancel streaming AI replies (their
//! partial text is stored and `ai.end` sent), flush the store, then close the remaining sockets
//! within `--shutdown-timeout`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use healing_actors::alerts::AlertRouter;
use healing_actors::auth::Authenticator;
use healing_actors::bus::redis::RedisBus;
use healing_actors::bus::{Fanout, LocalBus};
use healing_actors::chat::ChatDirectory;
use healing_actors::hub::Hub;
use healing_actors::metrics::Metrics;
use healing_actors::supervision::DeskDirectory;
use healing_actors::{ClinicalConfig, RealtimeConfig, Services};
use healing_llm::LlmProvider;
use healing_storage::Store;

use crate::config::{ServeConfig, llm_api_key};
use crate::login_limit::{LoginLimiter, LoginPolicy};
use crate::state::AppState;

/// Runs the server on the configured store and bus, binding `config.bind`.
pub fn serve_blocking(config: ServeConfig) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.bind).with_context(|| format!("binding {}", config.bind))?;
    let store = crate::store::open(&config.store)?;
    let hub = Arc::new(Hub::default());
    let bus: Bus = match &config.redis_url {
        Some(url) => {
            let redis = RedisBus::connect(url, hub.clone()).context("connecting the Redis bus")?;
            Bus::Redis(Arc::new(redis))
        }
        None => Bus::Local,
    };
    actix_web::rt::System::new().block_on(run(listener, config, store, hub, bus))
}

/// The cross-node bus a node runs with.
pub enum Bus {
    /// A single node (the embedded default).
    Local,
    Redis(Arc<RedisBus>),
}

fn llm_provider(config: &ServeConfig) -> anyhow::Result<Arc<dyn LlmProvider>> {
    match (llm_api_key(), &config.llm_base_url) {
        (Some(api_key), base_url) => {
            let cfg = healing_llm::OpenAiConfig {
                base_url: base_url.clone().unwrap_or_else(|| healing_llm::openai::DEFAULT_BASE_URL.to_owned()),
                api_key,
                model: config.llm_model.clone(),
                connect_timeout: config.llm_connect_timeout,
                first_token_timeout: config.llm_first_token_timeout,
                idle_timeout: config.llm_idle_timeout,
                ..healing_llm::OpenAiConfig::default()
            };
            let provider = healing_llm::OpenAiProvider::new(cfg).context("configuring the model client")?;
            Ok(Arc::new(provider))
        }
        (None, Some(_)) => {
            anyhow::bail!("--llm-base-url needs HEALING_LLM_API_KEY or GROQ_API_KEY")
        }
        (None, None) => Ok(Arc::new(healing_llm::OfflineResponder::new(config.offline_word_delay))),
    }
}

/// Serves on `listener` until SIGTERM/Ctrl-C. Must run inside an actix `System`.
pub async fn run(
    listener: TcpListener,
    config: ServeConfig,
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    bus: Bus,
) -> anyhow::Result<()> {
    // The risk engine's sentence encoder is compiled in; load it now (about 0.2 s) so that a
    // damaged build stops here rather than screening with the rules alone.
    healing_risk::load().map_err(|e| anyhow::anyhow!("loading the risk detector: {e}"))?;
    let llm = llm_provider(&config)?;
    warn_if_no_duty_supervisor(&store).await;
    let realtime = RealtimeConfig {
        max_frame_bytes: config.max_frame_bytes,
        hello_timeout: config.hello_timeout,
        heartbeat_interval: config.heartbeat_interval,
        idle_timeout: config.idle_timeout,
        session_queue_bytes: config.session_queue_bytes,
        ai_coalesce_above_streams: config.ai_coalesce_above_streams,
        frames_per_second: config.frames_per_second,
        frame_burst: config.frames_per_second.saturating_mul(2),
        max_sockets_per_user: config.max_sockets_per_user,
        max_sockets_per_ip: config.max_sockets_per_ip,
        max_unauthenticated_sockets: config.max_unauthenticated_sockets,
        max_conversations_per_patient: config.max_conversations_per_patient,
        token_recheck: config.session_recheck,
        ..RealtimeConfig::default()
    };
    let info = llm.info();
    let clinical = Arc::new(ClinicalConfig {
        ack_deadline_high: config.ack_deadline_high,
        ack_deadline_moderate: config.ack_deadline_moderate,
        sweep_interval: config.escalation_sweep,
        follow_up_after: config.follow_up_after,
        rescreen_after: config.rescreen_after,
        second_opinion: healing_actors::second_opinion::Config {
            enabled: config.llm_second_opinion && info.kind != "offline",
            max_concurrent: config.llm_second_opinion_concurrency,
            queue_wait: config.llm_second_opinion_queue_wait,
            timeout: config.llm_second_opinion_timeout,
            breaker_failures: config.llm_second_opinion_breaker_failures,
            breaker_cooldown: config.llm_second_opinion_breaker_cooldown,
            context_chars: config.llm_second_opinion_context_chars,
        },
        crisis: Arc::new(config.crisis_catalogues().map_err(anyhow::Error::msg)?),
        ..ClinicalConfig::default()
    });
    let metrics = Arc::new(Metrics::new());
    let bus_impl: Arc<dyn healing_actors::bus::Bus> = match &bus {
        Bus::Local => Arc::new(LocalBus),
        Bus::Redis(r) => r.clone(),
    };
    let fanout = Arc::new(Fanout { hub: hub.clone(), bus: bus_impl });
    let alerts = AlertRouter::new(store.clone(), fanout.clone(), metrics.clone(), clinical.clone()).start();
    let services = Arc::new(Services {
        auth: Authenticator::new(store.clone(), config.token_ttl),
        audit: healing_actors::audit::Auditor::new(store.clone()),
        store: store.clone(),
        llm,
        hub,
        fanout,
        chats: ChatDirectory::default(),
        desks: DeskDirectory::default(),
        risk: healing_actors::risk_detector::Detector::start(),
        alerts,
        config: realtime,
        second_opinion: healing_actors::second_opinion::SecondOpinion::new(clinical.second_opinion.clone()),
        clinical,
        metrics,
    });
    healing_actors::chat::rescreen::spawn_sweeper(&services);
    if let Bus::Redis(redis) = &bus {
        // When the bus returns after an outage, re-send from the store what other nodes' pushes
        // may have lost (alerts, escalations) to the staff connected here.
        let weak = Arc::downgrade(&services);
        redis.on_restored(move || {
            if let Some(services) = weak.upgrade() {
                tokio::spawn(healing_actors::backlog::resend_to_local_staff(services));
            }
        });
    }
    let state = web::Data::new(AppState {
        services: services.clone(),
        login_limiter: LoginLimiter::new(login_policy(&config), device_key(&config)),
        erasure_grace: config.erasure_grace,
    });
    healing_actors::password_pool::set_max_in_flight(config.max_password_jobs);
    let rights = actix_web::rt::spawn(crate::rights::sweeper(
        services.clone(),
        config.data_rights_sweep,
        config.store.retention_days,
    ));

    let addr = listener.local_addr()?;
    let max_body = 64 * 1024;
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(web::JsonConfig::default().limit(max_body).error_handler(json_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(query_error))
            .wrap(middleware::DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("X-Frame-Options", "DENY"))
                .add(("Cross-Origin-Opener-Policy", "same-origin"))
                .add(("Cross-Origin-Resource-Policy", "same-origin"))
                .add((
                    "Permissions-Policy",
                    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()",
                ))
                .add((
                    "Content-Security-Policy",
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                     frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                )))
            .configure(crate::routes::configure)
    })
    // Chat frames are small and latency-bound: without this, Nagle's algorithm holds a frame
    // behind the previous one's delayed ACK (up to 40 ms on Linux), which was the slow tail of
    // chat acks in docs/benchmarks.md (b). Set before `listen`, which reads it.
    .tcp_nodelay(true)
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(config.shutdown_timeout.as_secs().max(1));
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    let server = server.run();
    let handle = server.handle();

    println!("healing-space listening on http://{addr}");
    println!("  AI companion: {} ({})", info.kind, info.model);
    println!("  first users:  echo 'a-strong-password' | healing-space user add --username admin --role admin");
    println!("                then sign in at http://{addr}/ or POST /api/v1/auth/login");

    let housekeeping = actix_web::rt::spawn({
        let state = state.clone();
        async move {
            let mut tick = actix_web::rt::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                state.login_limiter.housekeeping();
            }
        }
    });

    let serving = actix_web::rt::spawn(server);
    shutdown_signal().await;
    rights.abort();
    tracing::info!("shutting down: no new connections, cancelling streams");
    handle.pause().await;
    if actix_web::rt::time::timeout(config.shutdown_timeout, services.chats.shutdown()).await.is_err() {
        tracing::warn!("some replies did not stop in time");
    }
    services.hub.close_all(healing_protocol::close::GOING_AWAY, "server is restarting; please reconnect");
    if let Err(e) = store.flush().await {
        tracing::error!(error = %e, "store flush failed during shutdown");
    }
    housekeeping.abort();
    handle.stop(true).await;
    let _ = serving.await;
    tracing::info!("stopped");
    Ok(())
}

fn login_policy(config: &ServeConfig) -> LoginPolicy {
    LoginPolicy {
        free_failures: config.login_free_failures,
        backoff_max: config.login_backoff_max,
        per_ip_user_per_minute: config.login_attempts_per_minute,
        per_ip_per_minute: config.login_failures_per_ip_per_minute,
        registrations_per_ip_per_hour: config.registrations_per_ip_per_hour,
        ..LoginPolicy::default()
    }
}

/// The device-cookie key: `--device-cookie-key` hashed to 32 bytes, or random for this run.
fn device_key(config: &ServeConfig) -> [u8; 32] {
    use sha2::Digest;
    match &config.device_cookie_key {
        Some(key) => sha2::Sha256::digest(key.as_bytes()).into(),
        None => {
            tracing::info!("no --device-cookie-key: known devices are remembered by this node until it restarts");
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
            key
        }
    }
}

/// Contract §4.3: someone is always responsible. A patient with no care team is covered only by
/// the duty supervisors, so a node with none says so loudly at start.
async fn warn_if_no_duty_supervisor(store: &Arc<dyn Store>) {
    match store.duty_supervisors().await {
        Ok(duty) if duty.is_empty() => tracing::warn!(
            "NO DUTY SUPERVISOR: alerts of patients on no caseload, or whose clinicians are on no team, reach \
             no one. Put a supervisor on duty: `healing-space team --duty --supervisor USERNAME` or \
             POST /api/v1/admin/duty"
        ),
        Ok(duty) => tracing::info!(duty_supervisors = duty.len(), "duty supervisors cover patients with no care team"),
        Err(e) => tracing::warn!(error = %e, "could not read the duty supervisors at start"),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn json_error(err: actix_web::error::JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    use healing_protocol::ErrorCode;
    let api = match &err {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => {
            crate::api_error::ApiError::new(ErrorCode::TooLarge, "request body is too large")
        }
        E::ContentType => {
            crate::api_error::ApiError::new(ErrorCode::InvalidRequest, "send JSON (Content-Type: application/json)")
        }
        other => crate::api_error::ApiError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {other}")),
    };
    api.into()
}

fn query_error<E: std::fmt::Display>(err: E, _req: &actix_web::HttpRequest) -> actix_web::Error {
    crate::api_error::ApiError::new(healing_protocol::ErrorCode::InvalidRequest, err.to_string()).into()
}
