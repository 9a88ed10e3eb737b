//! The HTTP front: serving the API (through `http_accept`), routing by
//! protocol, the emulator's own endpoints, shutdown in order, and the one
//! place an `ApiError` becomes a response.
//!
//! Routing, as the SDKs send requests:
//! - `X-Amz-Target: <prefix>.<Operation>`: AWS JSON 1.0/1.1, to the service
//!   that owns the prefix;
//! - a form (`Action=...&Version=...`, POSTed or in the query string): the
//!   query and ec2 protocols, to the service the SigV4 credential scope
//!   names, else to the one whose API version the form carries;
//! - `smithy-protocol: rpc-v2-cbor`: Smithy RPC v2 CBOR, to the service
//!   the path names;
//! - anything else: rest-json, by method and path against the URI templates
//!   of the rest-json services (those the SigV4 credential scope names, when
//!   it names one);
//! - `/_ecsbox/*` (and the moto/LocalStack aliases): ecsbox's own.
//!
//! A request for a service ecsbox does not serve, or an operation its
//! service lacks, gets an error in the caller's own protocol.

use crate::api::Ecs;
use crate::auth::{Authenticator, SignedRequest};
use crate::cloudmap::CloudMap;
use crate::config::Config;
use crate::controllers::services::ServiceScheduler;
use crate::controllers::task_dns::TaskDnsServers;
use crate::controllers::tasks::{TaskController, TaskSettings};
use crate::dns::TaskDns;
use crate::http_accept;
use crate::lb::{LbSettings, LoadBalancing};
use crate::logs::{LogStore, Logs};
use crate::model::schema::Protocol;
use crate::persistence::{ClockOffset, PersistedStore, Persistence, StateDb};
use crate::protocol::{ApiError, RequestContext, Wire};
use crate::registry::Registry;
use crate::runtime::ContainerRuntime;
use crate::secrets::{SecretsManager, SecretsStore, Ssm};
use crate::service_connect::ServiceConnect;
use crate::services::application_autoscaling::cloudwatch_link::{CloudWatchAlarms, ScalingActions};
use crate::services::application_autoscaling::ApplicationAutoScaling;
use crate::services::cloudwatch::CloudWatch;
use crate::services::ec2::Ec2;
use crate::services::ecr::blobs::BlobStore;
use crate::services::ecr::token::TokenIssuer;
use crate::services::ecr::Ecr;
use crate::services::efs::Efs;
use crate::services::elbv2::Elbv2;
use crate::services::events::Events;
use crate::services::servicediscovery::ServiceDiscovery;
use crate::services::sts::Sts;
use crate::services::AwsService;
use crate::state::{RegionSettings, Store};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::net::TcpListener;

mod responses;
mod router;

use responses::{error_in, error_response, json_response, rest_json_response};
use router::{route, unknown_operation};

/// Largest request body read; AWS's own limit for ECS requests is far lower.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// How long shutting down waits for tasks mid-start to give up before it
/// removes the containers anyway.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(20);
/// How often what changed without a request (tasks, schedules) is written
/// to the state directory.
const STATE_COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);
/// How long shutting down waits for the API's open connections.
const OPEN_CONNECTIONS_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub struct App {
    pub config: Config,
    pub auth: Authenticator,
    pub store: Arc<Store>,
    /// Every AWS service served, in the order routing asks them.
    pub services: Vec<Arc<dyn AwsService>>,
    /// CloudWatch Logs, with a store of its own (`logs::store` says why).
    pub logs: Arc<Logs>,
    pub ec2: Arc<Ec2>,
    pub cloudwatch: Arc<CloudWatch>,
    pub efs: Arc<Efs>,
    /// ELBv2's load balancers, listeners and target groups (the API).
    pub elbv2: Arc<Elbv2>,
    /// The load balancers' data plane: the listeners that carry traffic and
    /// the target groups' targets and health. ELBv2 drives it; ECS's
    /// controllers register their tasks in it.
    pub load_balancing: Arc<LoadBalancing>,
    /// Application Auto Scaling: scales ECS services through ECS's
    /// UpdateService; CloudWatch alarm actions call its `alarm_fired`.
    pub application_autoscaling: Arc<ApplicationAutoScaling>,
    /// ECR's repositories; their images' bytes go through `registry`.
    pub ecr: Arc<Ecr>,
    /// EventBridge: buses, rules, schedules; ECS's own events arrive here.
    pub events: Arc<Events>,
    /// Cloud Map's registry: its API serves it, ECS registers tasks in it.
    pub cloud_map: Arc<CloudMap>,
    /// The DNS server task containers use (Cloud Map's names, then the host's).
    pub dns: TaskDns,
    /// Service Connect's endpoints (the proxies behind client aliases).
    pub service_connect: Arc<ServiceConnect>,
    /// The container registry, on its own port.
    pub registry: Arc<Registry>,
    /// Secrets Manager secrets and SSM parameters (`secrets` says why a
    /// store of their own); tasks read them for their containers' `secrets`.
    pub secrets: Arc<SecretsStore>,
    pub tasks: Arc<TaskController>,
    /// The service scheduler (shutdown stops it first).
    pub scheduler: Arc<ServiceScheduler>,
    /// The task metadata and credentials endpoints (and the API again, for
    /// SDKs inside tasks).
    pub metadata: crate::metadata::Endpoints,
    /// Returns freed memory to the system after bursts of requests.
    pub memory: Arc<crate::memory::Trimmer>,
    /// The state directory's database (`--state-dir`); None: state in memory.
    pub persistence: Option<Arc<Persistence>>,
}

impl App {
    /// The app on the local Docker engine, connected on first use so that
    /// serving does not wait for it. Without a reachable engine the control
    /// plane still works; tasks fail with the reason.
    pub fn start(config: Config) -> Result<Arc<App>, String> {
        Self::with_runtime(config, Arc::new(crate::runtime::lazy::LazyDocker::new()))
    }

    pub fn with_runtime(
        config: Config,
        runtime: Arc<dyn ContainerRuntime>,
    ) -> Result<Arc<App>, String> {
        let auth = Authenticator::new(&config)?;
        // The state directory first: an ecsbox started on one that another
        // holds stops here, before it has bound or changed anything.
        let state_db = config.state_dir.as_deref().map(StateDb::open).transpose()?;
        let load_balancing = LoadBalancing::new(LbSettings {
            listen_host: config.lb_listen_host,
            fallback_ports: config.lb_ports.clone(),
            ports_only_from_range: config.lb_ports_only,
            instance_address: config.lb_instance_address(),
        });
        let cloud_map = Arc::new(CloudMap::new());
        let published_ports_host = Arc::new(std::sync::OnceLock::new());
        let service_connect =
            ServiceConnect::new(cloud_map.clone(), config.own_container.is_some());
        let store = Arc::new(Store::with_settings(RegionSettings {
            container_instances: config.container_instances,
            load_balancing: Some(load_balancing.clone()),
            cloud_map: Some(cloud_map.clone()),
            published_ports_host: published_ports_host.clone(),
            service_connect: Some(service_connect.clone()),
        }));
        let (effects_tx, effects_rx) = tokio::sync::mpsc::unbounded_channel();
        let dns = TaskDns::start(
            config.task_dns,
            cloud_map.clone(),
            config.own_container.is_some(),
        );
        let task_dns_servers = match (dns.address(), &config.own_container) {
            (Some(_), Some(me)) if dns.in_own_container() => {
                TaskDnsServers::own_container(me.clone())
            }
            (Some(address), _) => TaskDnsServers::At(address.to_string()),
            (None, _) => TaskDnsServers::Docker,
        };
        let settings = TaskSettings {
            cleanup_delay: std::time::Duration::from_secs(config.task_cleanup_delay),
            warm_namespaces: config.warm_task_namespaces,
            own_container: config.own_container.clone(),
            dns: Arc::new(task_dns_servers),
            published_ports_host,
            ..TaskSettings::default()
        };
        let secrets = Arc::new(SecretsStore::new());
        let log_store = Arc::new(LogStore::with_memory_limit(
            usize::try_from(config.log_memory_limit_mib << 20).unwrap_or(usize::MAX),
        ));
        crate::logs::retention::spawn_sweeper(&log_store);
        let metadata = crate::metadata::Endpoints::new(&config, store.clone(), runtime.clone());
        let metrics_runtime = runtime.clone();
        let tasks = TaskController::new(
            store.clone(),
            runtime,
            config.instance_id.clone(),
            settings,
            secrets.clone(),
            log_store.clone(),
            metadata.clone(),
        );
        tasks.spawn(effects_rx);
        let scheduler = ServiceScheduler::new(store.clone(), tasks.changes(), effects_tx.clone());
        scheduler.spawn();
        // ECS looks subnets and security groups up in EC2.
        let ec2 = Arc::new(Ec2::new(store.clone()));
        let ecs = Arc::new(Ecs::new(store.clone(), effects_tx, ec2.clone()));
        // EventBridge runs tasks through ECS's API and hears ECS's events.
        let events = Events::new(ecs.clone(), log_store.clone());
        events.attach(tasks.events_outbox());
        events.attach(scheduler.events_outbox());
        events.spawn();
        wake_on_target_health(&load_balancing, tasks.changes());
        let logs = Arc::new(Logs::new(log_store));
        let cloudwatch = Arc::new(CloudWatch::new());
        cloudwatch.spawn_alarm_evaluator();
        cloudwatch.publish_elb_metrics(load_balancing.clone());
        cloudwatch.publish_ecs_metrics(
            store.clone(),
            metrics_runtime,
            std::time::Duration::from_secs(config.metrics_period),
        );
        let efs = Arc::new(Efs::new());
        let elbv2 = Arc::new(Elbv2::new(
            load_balancing.clone(),
            ec2.clone(),
            store.clone(),
        ));
        let (ecr, registry) = container_registry(&config)?;
        tasks.set_private_registry(ecr.clone());
        // Target tracking keeps its alarms in CloudWatch, and CloudWatch's
        // alarm actions call the scaling policies back.
        let application_autoscaling = Arc::new(ApplicationAutoScaling::new(
            ecs.clone(),
            Arc::new(CloudWatchAlarms(cloudwatch.clone())),
        ));
        cloudwatch.set_action_sink(Arc::new(ScalingActions(Arc::downgrade(
            &application_autoscaling,
        ))));
        application_autoscaling.spawn_scheduler();
        let services: Vec<Arc<dyn AwsService>> = vec![
            ecs,
            logs.clone(),
            Arc::new(SecretsManager::new(secrets.clone())),
            Arc::new(Ssm::new(secrets.clone())),
            Arc::new(Sts::new(auth.temporary())),
            ec2.clone(),
            cloudwatch.clone(),
            efs.clone(),
            ecr.clone(),
            elbv2.clone(),
            application_autoscaling.clone(),
            events.clone(),
            Arc::new(ServiceDiscovery::new(cloud_map.clone())),
        ];
        let memory = Arc::new(crate::memory::Trimmer::default());
        memory.spawn();
        let persistence = match state_db {
            Some(db) => {
                let kept: Vec<Arc<dyn PersistedStore>> = vec![
                    Arc::new(ClockOffset::default()),
                    store.clone(),
                    logs.store().clone(),
                    secrets.clone(),
                    Arc::new(ec2.clone()),
                    Arc::new(cloudwatch.clone()),
                    Arc::new(efs.clone()),
                    Arc::new(elbv2.clone()),
                    Arc::new(application_autoscaling.clone()),
                    Arc::new(events.clone()),
                    Arc::new(cloud_map.clone()),
                    Arc::new(ecr.clone()),
                ];
                let persistence = restore_state(db, kept)?;
                for problem in elbv2.rebuild_data_plane() {
                    tracing::warn!(
                        "a kept load balancer listener could not be opened again: {problem}"
                    );
                }
                tasks.adopt_restored();
                let committing = persistence.clone();
                registry.commit_with(Arc::new(move || {
                    Box::pin(committing.clone().commit_off_thread())
                }));
                Some(persistence)
            }
            None => None,
        };
        Ok(Arc::new(App {
            auth,
            services,
            logs,
            ec2,
            cloudwatch,
            efs,
            elbv2,
            application_autoscaling,
            events,
            cloud_map,
            dns,
            service_connect,
            load_balancing,
            ecr,
            registry,
            secrets,
            store,
            tasks,
            scheduler,
            metadata,
            config,
            memory,
            persistence,
        }))
    }

    /// Makes what the last answer changed durable (`--state-dir`), before
    /// the answer goes out. An error: the change may be lost on a restart.
    async fn commit_state(&self) -> Result<(), String> {
        match self.persistence.clone() {
            Some(persistence) => persistence.commit_off_thread().await,
            None => Ok(()),
        }
    }

    /// Forgets all state and removes every container and network this
    /// instance owns.
    pub async fn reset(&self) {
        self.store.reset();
        self.logs.store().reset();
        self.secrets.reset();
        self.ec2.reset();
        self.cloudwatch.reset();
        self.efs.reset();
        self.elbv2.reset();
        self.application_autoscaling.reset();
        self.events.reset();
        self.cloud_map.reset();
        self.service_connect.reset();
        self.load_balancing.reset();
        self.ecr.reset();
        self.auth.temporary().clear();
        // At once, so that what a request makes after the reset is not
        // deleted with what came before.
        if let Some(persistence) = &self.persistence {
            if let Err(e) = persistence.forget_all() {
                tracing::error!("could not empty the state directory on reset: {e}");
            }
        }
        self.tasks.forget_tasks();
        self.metadata.forget_all();
        self.tasks.remove_everything().await;
    }
}

/// Puts what the state directory's database keeps back into
/// the stores, which from then on remember what they change; the state is
/// then committed every `STATE_COMMIT_INTERVAL` for what background work
/// (tasks starting and stopping, schedules) changes between requests.
fn restore_state(
    db: StateDb,
    kept: Vec<Arc<dyn PersistedStore>>,
) -> Result<Arc<Persistence>, String> {
    let path = db.path().display().to_string();
    let persistence = Arc::new(Persistence::new(db, kept.clone()));
    let problems = persistence.restore()?;
    for problem in &problems {
        tracing::warn!("state directory {path}: left out what could not be read: {problem}");
    }
    for store in &kept {
        store.track_touches();
    }
    let committing = Arc::downgrade(&persistence);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(STATE_COMMIT_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(persistence) = committing.upgrade().filter(|p| !p.is_closed()) else {
                return;
            };
            if let Err(e) = persistence.commit_off_thread().await {
                tracing::error!("could not write the state directory: {e}");
            }
        }
    });
    Ok(persistence)
}

/// ECR and its registry, on the listener `--registry-listen` names (bound
/// here, so a port in use stops ecsbox at start with the reason).
fn container_registry(config: &Config) -> Result<(Arc<Ecr>, Arc<Registry>), String> {
    let cannot = |e: std::io::Error| {
        format!(
            "cannot listen on {} for the container registry: {e} (choose another address with --registry-listen)",
            config.registry_listen
        )
    };
    let listener = std::net::TcpListener::bind(config.registry_listen).map_err(cannot)?;
    listener.set_nonblocking(true).map_err(cannot)?;
    let port = listener.local_addr().map_err(cannot)?.port();
    let host = config
        .registry_host
        .clone()
        .unwrap_or_else(|| format!("localhost:{port}"));
    let ecr = match &config.state_dir {
        // Pushed images and `docker login` outlive a restart.
        Some(dir) => {
            let blobs = BlobStore::at(dir.join("registry")).map_err(|e| {
                format!(
                    "cannot open the container registry's blobs in {}: {e}",
                    dir.display()
                )
            })?;
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create the state directory {}: {e}", dir.display()))?;
            let tokens = TokenIssuer::kept_in(&dir.join("registry-token.key")).map_err(|e| {
                format!(
                    "cannot keep the registry's login secret in {}: {e}",
                    dir.display()
                )
            })?;
            Ecr::with_tokens(Arc::new(blobs), host, tokens)
        }
        None => {
            let blobs = BlobStore::temporary()
                .map_err(|e| format!("cannot make the container registry's blob directory: {e}"))?;
            Ecr::new(Arc::new(blobs), host)
        }
    };
    let ecr = Arc::new(ecr);
    let registry = Arc::new(Registry::new(listener, ecr.clone()));
    Ok((ecr, registry))
}

/// Serves until `shutdown` resolves, then waits for open requests to finish.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    // The one startup line; tests and scripts read the address from it. It
    // waits for the engine handshake, which the accept loop below does not.
    // The task endpoints' listener also answers API calls from inside tasks.
    let api_app = app.clone();
    app.metadata.serve(Some(Arc::new(move |req, peer| {
        let app = api_app.clone();
        Box::pin(async move { handle(&app, req, peer).await })
    })));
    app.registry.serve();
    let announce = app.clone();
    tokio::spawn(async move {
        let handshake = announce.tasks.ready().await;
        let engine = &handshake.engine;
        println!(
            "ecsbox {} listening on http://{addr} (sigv4: {:?}, default account {}, engine: {engine}, instance id {}, state: {}, registry: {})",
            env!("CARGO_PKG_VERSION"),
            announce.config.sigv4,
            announce.config.default_account,
            announce.config.instance_id,
            announce
                .config
                .state_dir
                .as_ref()
                .map_or("in memory".to_string(), |d| d.display().to_string()),
            announce.ecr.registry_host(),
        );
    });
    // Stops accepting, then waits for the open connections (requests in
    // flight) before the task endpoints and the containers go.
    let handler_app = app.clone();
    let handler = move |req, peer| {
        let app = handler_app.clone();
        async move { handle(&app, req, peer).await }
    };
    let settings = http_accept::Settings {
        log_prefix: "",
        on_shutdown: http_accept::OpenConnections::Drain {
            up_to: OPEN_CONNECTIONS_WAIT,
        },
    };
    // The schedulers stop as soon as the signal comes: a crash-looping
    // service would otherwise relaunch while the containers are removed.
    let stopping_app = app.clone();
    let shutdown = async move {
        shutdown.await;
        stopping_app.scheduler.stop();
    };
    http_accept::accept_loop(listener, handler, shutdown, settings).await;
    // Then no task launches (RunTask calls that were in flight included),
    // and those mid-start finish, so the removal below sees every container.
    // With a state directory the running tasks stay as they are.
    if app.persistence.is_some() || app.config.keep_containers {
        app.tasks.leave_running();
    }
    app.tasks.close(CLOSE_WAIT).await;
    app.metadata.shutdown();
    app.registry.shutdown();
    if app.persistence.is_some() {
        // The state directory keeps the tasks, and the next start adopts
        // their containers: they keep running.
        tracing::info!("leaving task containers running for the next start (--state-dir)");
        app.tasks.remove_warm_namespaces().await;
    } else if app.config.keep_containers {
        tracing::info!("leaving task containers in place (--keep-containers)");
        app.tasks.remove_warm_namespaces().await;
    } else {
        app.tasks.remove_everything().await;
    }
    // Pushed images live as long as the process without a state directory.
    app.ecr.blobs().discard();
    // Last: the tasks may have used the endpoints while they stopped.
    app.metadata.remove_redirect();
    app.dns.shutdown();
    app.service_connect.reset();
    if let Err(e) = app.commit_state().await {
        tracing::error!("could not write the state directory at shutdown: {e}");
    }
    if let Some(persistence) = &app.persistence {
        persistence.close();
    }
}

/// Binds 127.0.0.1:0 and serves in the background on `runtime`: for tests.
/// Returns the address and a sender that stops the server.
pub async fn spawn_for_tests(
    config: Config,
    runtime: Arc<dyn ContainerRuntime>,
) -> (SocketAddr, Arc<App>, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind(config.listen)
        .await
        .expect("binding a test port");
    let addr = listener.local_addr().unwrap();
    let app = App::with_runtime(config, runtime).expect("valid test configuration");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, app.clone(), async move {
        let _ = rx.await;
    }));
    (addr, app, tx)
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn handle(app: &App, req: Request<Incoming>, _peer: SocketAddr) -> Response<Full<Bytes>> {
    app.memory.touch();
    let request_id = new_request_id();
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let err = ApiError::serialization(format!(
                "The request body could not be read or exceeds {MAX_BODY} bytes."
            ));
            return error_response(&err, &request_id);
        }
    };
    let body = match crate::protocol::content_encoding::decode(&parts.headers, body, MAX_BODY) {
        Ok(body) => body,
        Err(err) => return error_response(&err, &request_id),
    };
    let path = parts.uri.path();
    match (&parts.method, path) {
        (&Method::GET, "/_ecsbox/health")
        | (&Method::GET, "/_localstack/health")
        | (&Method::HEAD, "/_ecsbox/health") => {
            let services: serde_json::Map<_, _> = app
                .services
                .iter()
                .map(|s| {
                    (
                        s.meta().name.to_string(),
                        serde_json::Value::from("running"),
                    )
                })
                .collect();
            let body = serde_json::json!({
                "status": "running",
                "version": env!("CARGO_PKG_VERSION"),
                "services": services,
            });
            json_response(
                StatusCode::OK,
                body.to_string().into(),
                &request_id,
                "application/json",
            )
        }
        (&Method::POST, "/_ecsbox/cloudwatch/publish-ecs-metrics") => {
            // Samples the tasks' stats and takes the load balancers' request
            // counts now: for tests that move the clock.
            let published = app.cloudwatch.publish_metrics_now().await;
            json_response(
                StatusCode::OK,
                serde_json::json!({ "published": published })
                    .to_string()
                    .into(),
                &request_id,
                "application/json",
            )
        }
        (&Method::POST, "/_ecsbox/reset") | (&Method::POST, "/moto-api/reset") => {
            app.reset().await;
            tracing::info!("state reset");
            json_response(
                StatusCode::OK,
                r#"{"reset":true}"#.into(),
                &request_id,
                "application/json",
            )
        }
        // AWS applies ECR lifecycle policies by itself within a day; ecsbox
        // applies them when asked, so a test decides when images expire.
        (&Method::POST, "/_ecsbox/ecr/apply-lifecycle-policies") => {
            let expired: Vec<_> = app
                .ecr
                .apply_all_lifecycle_policies(crate::clock::now_secs())
                .into_iter()
                .map(|(account, region, image)| {
                    serde_json::json!({
                        "account": account,
                        "region": region,
                        "repositoryName": image.repository,
                        "imageDigest": image.digest,
                    })
                })
                .collect();
            json_response(
                StatusCode::OK,
                serde_json::json!({ "expired": expired }).to_string().into(),
                &request_id,
                "application/json",
            )
        }
        // Where each load balancer listener really listens (DescribeListeners
        // keeps the port asked for; this tells the local address).
        (&Method::GET, "/_ecsbox/elbv2/listeners") => json_response(
            StatusCode::OK,
            crate::services::elbv2::listener_addresses(&app.load_balancing)
                .to_string()
                .into(),
            &request_id,
            "application/json",
        ),
        // Where each Service Connect endpoint is served.
        (&Method::GET, "/_ecsbox/service-connect") => json_response(
            StatusCode::OK,
            serde_json::json!({
                "available": app.service_connect.available().is_ok(),
                "unavailableBecause": app.service_connect.available().err(),
                "endpoints": app.service_connect.describe(),
            })
            .to_string()
            .into(),
            &request_id,
            "application/json",
        ),
        // Where tasks' DNS server answers (null when it is off; 0.0.0.0
        // when on ecsbox's own container, whose address on its network
        // each task gets).
        (&Method::GET, "/_ecsbox/dns") => json_response(
            StatusCode::OK,
            serde_json::json!({
                "address": app.dns.address().map(|a| format!("{a}:53")),
                "inOwnContainer": app.dns.in_own_container(),
            })
            .to_string()
            .into(),
            &request_id,
            "application/json",
        ),
        (&Method::GET, "/_ecsbox/clock") => clock_response(&request_id),
        (&Method::POST, "/_ecsbox/clock/advance") => match advance_by(&body) {
            Ok(by) => {
                crate::clock::advance(by);
                tracing::info!(seconds = by.as_secs_f64(), "clock advanced");
                clock_response(&request_id)
            }
            Err(message) => json_response(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"__type": "ValidationException", "message": message})
                    .to_string()
                    .into(),
                &request_id,
                "application/json",
            ),
        },
        // EventBridge's target invocations (failed ones with the reason) and
        // each rule's counts: what AWS/Events metrics would show.
        (&Method::GET, "/_ecsbox/events/invocations") => {
            let invocations: Vec<_> = app
                .events
                .invocations()
                .into_iter()
                .map(|(account, region, i)| {
                    let mut v = serde_json::to_value(&i).unwrap_or_default();
                    v["account"] = account.into();
                    v["region"] = region.into();
                    v
                })
                .collect();
            let rules: Vec<_> = app
                .events
                .rule_metrics()
                .into_iter()
                .map(|(account, region, bus, rule, m)| {
                    serde_json::json!({
                        "account": account, "region": region, "eventBusName": bus,
                        "rule": rule, "metrics": m,
                    })
                })
                .collect();
            json_response(
                StatusCode::OK,
                serde_json::json!({ "invocations": invocations, "rules": rules })
                    .to_string()
                    .into(),
                &request_id,
                "application/json",
            )
        }
        (&Method::GET, "/_ecsbox/state") => {
            let regions: Vec<_> = app
                .store
                .keys()
                .into_iter()
                .map(|(a, r)| serde_json::json!({"account": a, "region": r}))
                .collect();
            json_response(
                StatusCode::OK,
                serde_json::json!({ "stores": regions }).to_string().into(),
                &request_id,
                "application/json",
            )
        }
        _ => {
            let started = Instant::now();
            let mut log = CallLog::default();
            let mut response = aws_call(app, &parts, &body, &request_id, &mut log);
            if let Err(e) = app.commit_state().await {
                tracing::error!("could not write the state directory: {e}");
                let err = ApiError::internal(format!(
                    "ecsbox could not write its state directory, so this change may not survive a restart: {e}"
                ));
                response = error_response(&err, &request_id);
            }
            // A call refused before authentication has no account or region: "-".
            tracing::debug!(
                service = log.service,
                operation = log.operation.as_str(),
                account = log.account.as_str(),
                region = log.region.as_str(),
                status = response.status().as_u16(),
                latency_us = started.elapsed().as_micros() as u64,
                "api call"
            );
            response
        }
    }
}

/// `{"now": epoch seconds, "offsetSeconds": how far ecsbox's clock is ahead}`.
fn clock_response(request_id: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "now": crate::clock::now_secs(),
        "offsetSeconds": crate::clock::offset().as_secs_f64(),
    });
    json_response(
        StatusCode::OK,
        body.to_string().into(),
        request_id,
        "application/json",
    )
}

/// The body of `POST /_ecsbox/clock/advance`: `{"seconds": N}`, N > 0.
fn advance_by(body: &[u8]) -> Result<std::time::Duration, String> {
    const USAGE: &str = "The body must be a JSON object {\"seconds\": N} with N a number of seconds greater than 0.";
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| USAGE.to_string())?;
    let seconds = value
        .get("seconds")
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| USAGE.to_string())?;
    if seconds.is_nan() || seconds <= 0.0 || !seconds.is_finite() {
        return Err(USAGE.to_string());
    }
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| USAGE.to_string())
}

/// One AWS API call answered without a connection (the body already
/// read and decoded): for the fuzz targets.
pub fn answer(app: &App, parts: &http::request::Parts, body: &Bytes) -> Response<Full<Bytes>> {
    aws_call(app, parts, body, &new_request_id(), &mut CallLog::default())
}

/// What the debug log says of one call.
struct CallLog {
    service: &'static str,
    operation: String,
    account: String,
    region: String,
}

impl Default for CallLog {
    fn default() -> Self {
        CallLog {
            service: "-",
            operation: "-".into(),
            account: "-".into(),
            region: "-".into(),
        }
    }
}

/// One AWS API call: route, authenticate, decode, run, encode. Every error
/// goes back in the caller's protocol.
fn aws_call(
    app: &App,
    parts: &http::request::Parts,
    body: &Bytes,
    request_id: &str,
    log: &mut CallLog,
) -> Response<Full<Bytes>> {
    let route = match route(&app.services, parts, body) {
        Ok(route) => route,
        Err((protocol, err)) => return error_in(protocol, None, &err, request_id),
    };
    let Some(service) = route.service else {
        unreachable!("route() answers a service or an error")
    };
    let meta = service.meta();
    log.service = meta.name;
    log.operation = route.op_name.clone();
    let fail = |err: ApiError| error_in(route.protocol, Some(meta), &err, request_id);
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    let caller = match app
        .auth
        .authenticate(meta.signing_name, &signed, SystemTime::now())
    {
        Ok(caller) => caller,
        Err(e) if matches!(route.protocol, Protocol::Query | Protocol::Ec2) => {
            return fail(e.in_query_words())
        }
        Err(e) => return fail(e),
    };
    log.account = caller.account.clone();
    log.region = caller.region.clone();
    let Some(op) = service.operation(&route.op_name) else {
        return fail(unknown_operation(route.protocol, meta, &route.op_name));
    };
    let ctx = RequestContext {
        account: caller.account,
        region: caller.region,
        request_id: request_id.to_string(),
        access_key: caller.access_key,
        host: parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string())),
    };
    let wire = Wire {
        service: meta,
        protocol: route.protocol,
        op,
        body,
        form: route.form.as_ref(),
        parts: Some(parts),
        request_id,
        rest_reply: Default::default(),
    };
    match service.call(&ctx, &wire) {
        Ok(bytes) => match route.protocol {
            Protocol::RestJson => rest_json_response(wire.rest_reply.take(), bytes, request_id),
            Protocol::Query | Protocol::Ec2 => {
                json_response(StatusCode::OK, bytes.into(), request_id, "text/xml")
            }
            Protocol::Cbor => {
                let mut resp =
                    json_response(StatusCode::OK, bytes.into(), request_id, "application/cbor");
                resp.headers_mut()
                    .insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
                resp
            }
            _ => json_response(
                StatusCode::OK,
                bytes.into(),
                request_id,
                meta.json_content_type(),
            ),
        },
        Err(e) => fail(e),
    }
}

/// The service scheduler looks again whenever a target's health changes:
/// a task that became healthy lets a deployment go on, one that became
/// unhealthy is replaced.
fn wake_on_target_health(plane: &LoadBalancing, scheduler: Arc<tokio::sync::Notify>) {
    let changes = plane.changes();
    tokio::spawn(async move {
        loop {
            changes.notified().await;
            scheduler.notify_one();
        }
    });
}
