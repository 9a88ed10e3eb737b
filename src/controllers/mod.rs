//! Background controllers: the task lifecycle (and later the service
//! reconciler and placement). They are woken by runtime events and state
//! changes, never by sleep-polling.
pub mod awslogs;
pub mod container_spec;
pub mod image_source;
pub mod instance_events;
pub mod namespace_pool;
pub mod naming;
pub mod service_load_balancers;
pub mod service_planner;
pub mod service_registries;
pub mod service_tasks;
pub mod service_throttle;
pub mod services;
pub mod task_dns;
pub mod task_set_scheduler;
pub mod tasks;
pub mod volumes;
