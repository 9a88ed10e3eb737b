//! CreateService's and UpdateService's `serviceConnectConfiguration`:
//! checked, completed with ECS's defaults, and given its Cloud Map
//! services ("Service Connect" in the ECS API reference and developer
//! guide):
//!
//! - `enabled: true` without `namespace` takes the cluster's
//!   `serviceConnectDefaults` namespace; the namespace (a name or an ARN)
//!   must exist in Cloud Map (NamespaceNotFoundException).
//! - Each service's `portName` names a port mapping of the task
//!   definition; `discoveryName` defaults to it, a client alias's
//!   `dnsName` to `discoveryName.namespace`. Discovery names and aliases
//!   are unique in the namespace.
//! - ECS creates a Cloud Map service per discovery name (API discovery
//!   only); the deployment lists them as `serviceConnectResources`.
//!
//! What ecsbox does not build is refused by name: TLS, log and access log
//! configurations (there is no proxy container to log), the proxy
//! container's settings, `ingressPortOverride` (ecsbox's proxy reaches
//! the task's own port), per-request timeouts (the proxy joins bytes, it
//! does not see requests) and test traffic rules (blue/green).

use crate::domain::messages::ecsbox;
use crate::model::operations::ErrorCode;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::RegionState;

/// A configuration as a deployment keeps it.
pub(super) struct Resolved {
    pub configuration: ServiceConnectConfiguration,
    pub resources: Vec<ServiceConnectServiceResource>,
}

const DISCOVERY_NAME_MAX: usize = 64;
const DNS_NAME_MAX: usize = 127;

fn unsupported(part: &str, why: &str) -> ApiError {
    ApiError::ecs(
        ErrorCode::UnsupportedFeatureException,
        ecsbox::service_connect_part_unsupported(part, why),
    )
}

/// Refuses the parts ecsbox does not build, by name.
fn refuse_unbuilt(config: &ServiceConnectConfiguration) -> Result<(), ApiError> {
    if config.log_configuration.is_some() {
        return Err(unsupported(
            "logConfiguration",
            "ecsbox runs no Service Connect proxy container whose logs it could send",
        ));
    }
    if config.access_log_configuration.is_some() {
        return Err(unsupported(
            "accessLogConfiguration",
            "ecsbox's proxy keeps no access log",
        ));
    }
    if config.container_configurations.is_some() {
        return Err(unsupported(
            "containerConfigurations",
            "ecsbox runs no Service Connect proxy container",
        ));
    }
    for s in config.services.iter().flatten() {
        if s.tls.is_some() {
            return Err(unsupported(
                "services.tls",
                "ecsbox's proxy does not speak TLS",
            ));
        }
        if s.ingress_port_override.is_some() {
            return Err(unsupported(
                "services.ingressPortOverride",
                "ecsbox's proxy connects to the task's own port; there is no ingress proxy in the task",
            ));
        }
        if s.timeout
            .as_ref()
            .and_then(|t| t.per_request_timeout_seconds)
            .is_some_and(|t| t != 0)
        {
            return Err(unsupported(
                "services.timeout.perRequestTimeoutSeconds",
                "ecsbox's proxy joins connections byte for byte and does not see requests (idleTimeoutSeconds is honoured)",
            ));
        }
        if s.client_aliases
            .iter()
            .flatten()
            .any(|a| a.test_traffic_rules.is_some())
        {
            return Err(unsupported(
                "services.clientAliases.testTrafficRules",
                "blue/green deployments are not built",
            ));
        }
    }
    Ok(())
}

/// Checks `input` for a service `service_name` of `cluster` running `td`,
/// creates its Cloud Map services, and answers what the deployment keeps
/// (None: no configuration given).
pub(super) fn resolve(
    state: &RegionState,
    cluster: &str,
    service_name: &str,
    input: Option<&ServiceConnectConfiguration>,
    td: &TaskDefinition,
) -> Result<Option<Resolved>, ApiError> {
    let Some(input) = input else {
        return Ok(None);
    };
    if input.enabled != Some(true) {
        // Turned off: nothing else of it applies.
        return Ok(Some(Resolved {
            configuration: ServiceConnectConfiguration {
                enabled: Some(false),
                ..Default::default()
            },
            resources: vec![],
        }));
    }
    refuse_unbuilt(input)?;
    let Some(service_connect) = state.settings.service_connect.as_deref() else {
        return Err(unsupported("Service Connect", "this state has no server"));
    };
    service_connect.available().map_err(|why| {
        ApiError::ecs(
            ErrorCode::UnsupportedFeatureException,
            ecsbox::service_connect_unavailable(&why),
        )
    })?;
    let mode = td.network_mode.as_deref().unwrap_or("bridge");
    if mode != "awsvpc" && mode != "bridge" {
        return Err(ApiError::invalid_parameter(
            ecsbox::service_connect_network_mode(mode),
        ));
    }
    let namespace = input
        .namespace
        .clone()
        .or_else(|| {
            state
                .clusters
                .get(cluster)
                .and_then(|c| c.service_connect_defaults.as_ref())
                .and_then(|d| d.namespace.clone())
        })
        .ok_or_else(|| ApiError::invalid_parameter(ecsbox::SERVICE_CONNECT_NO_NAMESPACE))?;
    let cloud_map = state
        .settings
        .cloud_map
        .clone()
        .ok_or_else(|| unsupported("Service Connect", "this state has no Cloud Map"))?;
    let (account, region) = (state.account.as_str(), state.region.as_str());
    let found = cloud_map.with(account, region, |r| {
        let id = crate::cloudmap::id_of(&namespace);
        r.namespaces
            .get(id)
            .or_else(|| r.namespaces.values().find(|n| n.name == namespace))
            .map(|n| (n.id.clone(), n.arn.clone(), n.name.clone()))
    });
    let Some((namespace_id, namespace_arn, namespace_name)) = found else {
        return Err(ApiError::ecs(
            ErrorCode::NamespaceNotFoundException,
            ecsbox::namespace_not_found(&namespace),
        ));
    };

    // Each service completed with ECS's defaults, then checked.
    let mut services = Vec::new();
    for s in input.services.iter().flatten() {
        let port_name = s.port_name.clone().unwrap_or_default();
        check_port_name(&port_name, td)?;
        let discovery_name = s
            .discovery_name
            .clone()
            .unwrap_or_else(|| port_name.clone());
        check_name("discoveryName", &discovery_name, DISCOVERY_NAME_MAX, false)?;
        let aliases = s.client_aliases.clone().unwrap_or_default();
        if aliases.len() > 1 {
            return Err(ApiError::invalid_parameter(
                ecsbox::SERVICE_CONNECT_ALIAS_COUNT,
            ));
        }
        let mut completed = Vec::new();
        for a in aliases {
            let port = a.port.unwrap_or(0);
            if !(1..=65535).contains(&port) {
                return Err(ApiError::invalid_parameter(
                    ecsbox::service_connect_port_invalid(port),
                ));
            }
            let dns_name = a
                .dns_name
                .clone()
                .unwrap_or_else(|| format!("{discovery_name}.{namespace_name}"));
            check_name("dnsName", &dns_name, DNS_NAME_MAX, true)?;
            completed.push(ServiceConnectClientAlias {
                port: Some(port),
                dns_name: Some(dns_name),
                test_traffic_rules: None,
            });
        }
        services.push(ServiceConnectService {
            port_name: Some(port_name),
            discovery_name: Some(discovery_name),
            client_aliases: (!completed.is_empty()).then_some(completed),
            ..s.clone()
        });
    }
    check_unique(state, cluster, service_name, &namespace_arn, &services)?;

    let resources = cloud_map.with(account, region, |r| {
        services
            .iter()
            .map(|s| {
                let name = s.discovery_name.clone().unwrap_or_default();
                let arn = crate::cloudmap::ensure_api_service(r, &namespace_id, &name);
                ServiceConnectServiceResource {
                    discovery_name: Some(name),
                    discovery_arn: Some(arn),
                }
            })
            .collect()
    });
    Ok(Some(Resolved {
        configuration: ServiceConnectConfiguration {
            enabled: Some(true),
            namespace: Some(namespace_arn),
            services: (!services.is_empty()).then_some(services),
            ..Default::default()
        },
        resources,
    }))
}

/// `portName` must name a port mapping of the task definition.
fn check_port_name(port_name: &str, td: &TaskDefinition) -> Result<(), ApiError> {
    let has_port = td
        .container_definitions
        .iter()
        .flatten()
        .flat_map(|c| c.port_mappings.iter().flatten())
        .any(|m| m.name.as_deref() == Some(port_name));
    if has_port {
        return Ok(());
    }
    Err(ApiError::invalid_parameter(
        ecsbox::service_connect_port_name(port_name),
    ))
}

/// A configuration a service keeps while its task definition changes
/// (UpdateService without `serviceConnectConfiguration`): its port names
/// must still be in the new definition, or the tasks could not register.
pub(super) fn check_kept(
    config: Option<&ServiceConnectConfiguration>,
    td: &TaskDefinition,
) -> Result<(), ApiError> {
    let services = config
        .filter(|c| c.enabled == Some(true))
        .and_then(|c| c.services.as_deref())
        .unwrap_or(&[]);
    for s in services {
        check_port_name(s.port_name.as_deref().unwrap_or_default(), td)?;
    }
    Ok(())
}

/// The model's rules: lowercase letters, digits, underscores and hyphens
/// (and periods in a DNS name), not starting with a hyphen.
fn check_name(field: &str, value: &str, limit: usize, periods: bool) -> Result<(), ApiError> {
    let allowed = |c: char| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '_'
            || c == '-'
            || (periods && c == '.')
    };
    if value.is_empty()
        || value.chars().count() > limit
        || value.starts_with('-')
        || !value.chars().all(allowed)
    {
        let chars = if periods {
            "lowercase letters, digits, underscores, hyphens and periods"
        } else {
            "lowercase letters, digits, underscores and hyphens"
        };
        return Err(ApiError::invalid_parameter(
            ecsbox::service_connect_name_invalid(field, value, limit, chars),
        ));
    }
    Ok(())
}

/// Discovery names and client aliases are the namespace's: one service
/// each, and each once in this configuration.
fn check_unique(
    state: &RegionState,
    cluster: &str,
    service_name: &str,
    namespace_arn: &str,
    services: &[ServiceConnectService],
) -> Result<(), ApiError> {
    let mut seen = std::collections::BTreeSet::new();
    for s in services {
        let name = s.discovery_name.as_deref().unwrap_or_default();
        if !seen.insert(name) {
            return Err(ApiError::invalid_parameter(
                ecsbox::service_connect_discovery_repeated(name),
            ));
        }
    }
    for other in state.services.values() {
        if other.status() == "INACTIVE" || (other.cluster == cluster && other.name == service_name)
        {
            continue;
        }
        let Some(theirs) = other
            .service_connect()
            .filter(|c| c.namespace.as_deref() == Some(namespace_arn))
        else {
            continue;
        };
        for mine in services {
            for t in theirs.services.iter().flatten() {
                if t.discovery_name == mine.discovery_name {
                    return Err(ApiError::invalid_parameter(
                        ecsbox::service_connect_discovery_taken(
                            mine.discovery_name.as_deref().unwrap_or_default(),
                            &other.name,
                        ),
                    ));
                }
                for a in mine.client_aliases.iter().flatten() {
                    if t.client_aliases.iter().flatten().any(|b| b == a) {
                        return Err(ApiError::invalid_parameter(
                            ecsbox::service_connect_alias_taken(
                                a.dns_name.as_deref().unwrap_or_default(),
                                a.port.unwrap_or(0) as u16,
                                &other.name,
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
