//! CreateListener, DescribeListeners, ModifyListener, DeleteListener,
//! DescribeSSLPolicies.
//!
//! A listener is opened in the plane when it is created: on its own port
//! where that can be bound, else on the first free port of `--lb-ports`
//! (`GET /_ecsbox/elbv2/listeners` tells which). DescribeListeners keeps
//! the port the client asked for. HTTPS and TLS listeners need a
//! certificate ARN, as on AWS; there is no ACM here, so any ACM- or
//! IAM-shaped ARN is accepted and the plane terminates TLS with a
//! certificate ecsbox generates.

use super::{
    actions, arn_suffix, compile, error, listeners_not_found, new_id, page, refused, tags,
    validation, Elbv2Region, ListenerRecord,
};
use crate::lb::{ListenerError, LoadBalancing};
use crate::model::elbv2::operations::ErrorCode;
use crate::model::elbv2::shapes::*;
use crate::protocol::{ApiError, RequestContext};

/// The policy AWS gives an HTTPS or TLS listener that names none.
const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// The security policies DescribeSSLPolicies lists (a few of AWS's), with
/// their TLS versions. The plane's TLS does not vary by policy.
const SSL_POLICIES: &[(&str, &[&str])] = &[
    (
        "ELBSecurityPolicy-2016-08",
        &["TLSv1", "TLSv1.1", "TLSv1.2"],
    ),
    ("ELBSecurityPolicy-TLS-1-2-2017-01", &["TLSv1.2"]),
    (
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        &["TLSv1.2", "TLSv1.3"],
    ),
    (
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        &["TLSv1.2", "TLSv1.3"],
    ),
    ("ELBSecurityPolicy-TLS13-1-3-2021-06", &["TLSv1.3"]),
];

fn is_secure(protocol: &str) -> bool {
    protocol == "HTTPS" || protocol == "TLS"
}

/// The protocol, port, certificates and TLS settings of a listener, checked
/// for a load balancer of this type.
struct Settings {
    protocol: String,
    port: i32,
    certificates: Option<Vec<Certificate>>,
    ssl_policy: Option<String>,
}

fn check_settings(
    network: bool,
    protocol: String,
    port: i32,
    certificates: Option<Vec<Certificate>>,
    ssl_policy: Option<String>,
    alpn: Option<&[String]>,
    mutual: Option<&MutualAuthenticationAttributes>,
) -> Result<Settings, ApiError> {
    let allowed: &[&str] = if network {
        &["TCP", "TLS"]
    } else {
        &["HTTP", "HTTPS"]
    };
    if !allowed.contains(&protocol.as_str()) {
        let kind = if network { "network" } else { "application" };
        return Err(error(
            ErrorCode::UnsupportedProtocolException,
            format!("Protocol '{protocol}' is not supported for load balancer type '{kind}' (ecsbox serves {})", allowed.join(" and ")),
        ));
    }
    if mutual
        .and_then(|m| m.mode.as_deref())
        .is_some_and(|m| m != "off")
    {
        return Err(refused(
            "mutual TLS authentication",
            "there are no trust stores",
        ));
    }
    if alpn.is_some_and(|a| a.iter().any(|p| p != "None")) {
        return Err(refused(
            "ALPN policies",
            "TLS listeners negotiate no ALPN protocol",
        ));
    }
    if !is_secure(&protocol) {
        if certificates.as_ref().is_some_and(|c| !c.is_empty()) || ssl_policy.is_some() {
            return Err(validation(format!(
                "Certificates and an SSL policy can be set only on HTTPS and TLS listeners, not {protocol}"
            )));
        }
        return Ok(Settings {
            protocol,
            port,
            certificates: None,
            ssl_policy: None,
        });
    }
    let certificates = certificates.unwrap_or_default();
    let Some(first) = certificates.first() else {
        // AWS's words.
        return Err(validation(format!(
            "A certificate must be specified for {protocol} listeners"
        )));
    };
    let cert_arn = first.certificate_arn.clone().unwrap_or_default();
    let acm_shaped = cert_arn.starts_with("arn:aws:acm:")
        || (cert_arn.starts_with("arn:aws:iam::") && cert_arn.contains(":server-certificate/"));
    if !acm_shaped {
        return Err(error(
            ErrorCode::CertificateNotFoundException,
            format!("Certificate '{cert_arn}' not found (ecsbox takes any ACM or IAM server certificate ARN, and serves TLS with a certificate it generates)"),
        ));
    }
    let policy = ssl_policy.unwrap_or_else(|| DEFAULT_SSL_POLICY.into());
    if !SSL_POLICIES.iter().any(|(name, _)| *name == policy) {
        return Err(error(
            ErrorCode::SSLPolicyNotFoundException,
            format!("SSL policy '{policy}' not found"),
        ));
    }
    Ok(Settings {
        protocol,
        port,
        certificates: Some(vec![Certificate {
            certificate_arn: Some(cert_arn),
            is_default: None,
        }]),
        ssl_policy: Some(policy),
    })
}

fn duplicate_port(r: &Elbv2Region, lb_arn: &str, port: i32, except: &str) -> Result<(), ApiError> {
    if r.listeners_of(lb_arn).any(|l| {
        l.description.port == Some(port) && l.description.listener_arn.as_deref() != Some(except)
    }) {
        // AWS's words.
        return Err(error(
            ErrorCode::DuplicateListenerException,
            format!("A listener already exists on this port for this load balancer '{lb_arn}'"),
        ));
    }
    Ok(())
}

/// The answer when the plane could not open a listener: it could bind
/// neither the port nor a fallback, or start no thread to serve it
/// (ecsbox's words: AWS has no such case).
fn listener_error(plane: &LoadBalancing, e: ListenerError) -> ApiError {
    let port = match e {
        ListenerError::NoFreePort { port } => port,
        ListenerError::NoThreads(why) => {
            return ApiError::internal(format!(
                "ecsbox could not start the threads that serve load balancer listeners: {why}"
            ))
        }
    };
    let s = plane.settings();
    error(
        ErrorCode::InvalidConfigurationRequestException,
        format!(
            "ecsbox could not listen on port {port}: neither it nor any port of {}-{} is free on {} (see --lb-ports and --lb-listen-host)",
            s.fallback_ports.start(),
            s.fallback_ports.end(),
            s.listen_host
        ),
    )
}

pub(super) fn create(
    r: &mut Elbv2Region,
    ctx: &RequestContext,
    plane: &LoadBalancing,
    input: CreateListenerInput,
) -> Result<CreateListenerOutput, ApiError> {
    let lb_arn = input.load_balancer_arn.clone().unwrap_or_default();
    let lb = r.load_balancer(&lb_arn)?;
    let network = lb.description.r#type.as_deref() == Some("network");
    let protocol = input
        .protocol
        .clone()
        .ok_or_else(|| validation("A listener protocol must be specified"))?;
    let port = input
        .port
        .ok_or_else(|| validation("A listener port must be specified"))?;
    let settings = check_settings(
        network,
        protocol,
        port,
        input.certificates,
        input.ssl_policy,
        input.alpn_policy.as_deref(),
        input.mutual_authentication.as_ref(),
    )?;
    duplicate_port(r, &lb_arn, port, "")?;
    let default_actions = actions::checked(r, &lb_arn, input.default_actions)?;
    let new_tags = tags::checked(input.tags.as_deref())?;
    let suffix = arn_suffix(&lb_arn).to_string();
    let listener_id = new_id();
    let listener_arn = super::arn(ctx, &format!("listener/{suffix}/{listener_id}"));
    let record = ListenerRecord {
        description: Listener {
            listener_arn: Some(listener_arn.clone()),
            load_balancer_arn: Some(lb_arn),
            port: Some(settings.port),
            protocol: Some(settings.protocol),
            certificates: settings.certificates,
            ssl_policy: settings.ssl_policy,
            default_actions: Some(default_actions),
            ..Default::default()
        },
        default_rule_arn: super::arn(
            ctx,
            &format!("listener-rule/{suffix}/{listener_id}/{}", new_id()),
        ),
        tags: new_tags,
    };
    plane
        .open_listener(compile::listener_spec(r, &record))
        .map_err(|e| listener_error(plane, e))?;
    let answer = record.description.clone();
    r.listeners.insert(listener_arn, record);
    Ok(CreateListenerOutput {
        listeners: Some(vec![answer]),
    })
}

pub(super) fn describe(
    r: &mut Elbv2Region,
    input: DescribeListenersInput,
) -> Result<DescribeListenersOutput, ApiError> {
    let arns = input.listener_arns.unwrap_or_default();
    match (&input.load_balancer_arn, arns.is_empty()) {
        (Some(_), false) => {
            return Err(validation(
                "Listener ARNs and a load balancer ARN cannot be specified at the same time",
            ))
        }
        (None, true) => {
            return Err(validation(
                "You must specify either listener ARNs or a load balancer ARN",
            ))
        }
        (Some(lb), true) => {
            r.load_balancer(lb)?;
        }
        (None, false) => {
            if arns.iter().any(|a| !r.listeners.contains_key(a)) {
                return Err(listeners_not_found());
            }
        }
    }
    let wanted = r.listeners.iter().filter(|(arn, l)| {
        arns.contains(arn)
            || input.load_balancer_arn.is_some()
                && l.description.load_balancer_arn == input.load_balancer_arn
    });
    let (items, next_marker) = page(
        wanted.map(|(k, l)| (k, l.description.clone())),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeListenersOutput {
        listeners: Some(items),
        next_marker,
    })
}

pub(super) fn modify(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: ModifyListenerInput,
) -> Result<ModifyListenerOutput, ApiError> {
    let arn = input.listener_arn.clone().unwrap_or_default();
    let old = r.listener(&arn)?;
    let lb_arn = old
        .description
        .load_balancer_arn
        .clone()
        .unwrap_or_default();
    let network = r
        .load_balancer(&lb_arn)
        .map(|lb| lb.description.r#type.as_deref() == Some("network"))
        .unwrap_or(false);
    let protocol = input
        .protocol
        .clone()
        .or_else(|| old.description.protocol.clone())
        .unwrap_or_default();
    let port = input.port.or(old.description.port).unwrap_or_default();
    // Certificates and policy carry over while the listener stays secure.
    let (certificates, ssl_policy) = if is_secure(&protocol) {
        (
            input
                .certificates
                .clone()
                .or_else(|| old.description.certificates.clone()),
            input
                .ssl_policy
                .clone()
                .or_else(|| old.description.ssl_policy.clone()),
        )
    } else {
        (input.certificates.clone(), input.ssl_policy.clone())
    };
    let settings = check_settings(
        network,
        protocol,
        port,
        certificates,
        ssl_policy,
        input.alpn_policy.as_deref(),
        input.mutual_authentication.as_ref(),
    )?;
    duplicate_port(r, &lb_arn, port, &arn)?;
    let default_actions = match input.default_actions {
        Some(given) => Some(actions::checked(r, &lb_arn, Some(given))?),
        None => None,
    };
    let old_port = r.listener(&arn)?.description.port;
    let previous = r.listener(&arn)?.description.clone();
    let l = r.listeners.get_mut(&arn).ok_or_else(listeners_not_found)?;
    l.description.protocol = Some(settings.protocol);
    l.description.port = Some(settings.port);
    l.description.certificates = settings.certificates;
    l.description.ssl_policy = settings.ssl_policy;
    if let Some(actions) = default_actions {
        l.description.default_actions = Some(actions);
    }
    if old_port == Some(port) {
        compile::update_listener(r, plane, &arn);
    } else {
        // Another port is another socket: reopen, and keep the old one if
        // the new cannot be bound.
        plane.close_listener(&arn);
        let spec = compile::listener_spec(r, r.listener(&arn)?);
        if let Err(e) = plane.open_listener(spec) {
            let l = r.listeners.get_mut(&arn).ok_or_else(listeners_not_found)?;
            l.description = previous;
            let _ = plane.open_listener(compile::listener_spec(r, r.listener(&arn)?));
            return Err(listener_error(plane, e));
        }
    }
    Ok(ModifyListenerOutput {
        listeners: Some(vec![r.listener(&arn)?.description.clone()]),
    })
}

/// Deletes the listener and its rules, and closes it in the plane.
pub(super) fn delete(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: DeleteListenerInput,
) -> Result<DeleteListenerOutput, ApiError> {
    let arn = input.listener_arn.unwrap_or_default();
    r.listener(&arn)?;
    r.listeners.remove(&arn);
    r.rules.retain(|_, rule| rule.listener_arn != arn);
    plane.close_listener(&arn);
    Ok(DeleteListenerOutput {})
}

pub(super) fn describe_ssl_policies(
    input: DescribeSSLPoliciesInput,
) -> Result<DescribeSSLPoliciesOutput, ApiError> {
    let names = input.names.unwrap_or_default();
    if let Some(unknown) = names
        .iter()
        .find(|n| !SSL_POLICIES.iter().any(|(name, _)| name == n))
    {
        return Err(error(
            ErrorCode::SSLPolicyNotFoundException,
            format!("SSL policy '{unknown}' not found"),
        ));
    }
    let policies = SSL_POLICIES
        .iter()
        .filter(|(name, _)| names.is_empty() || names.iter().any(|n| n == name))
        .map(|(name, versions)| SslPolicy {
            name: Some(name.to_string()),
            ssl_protocols: Some(versions.iter().map(|v| v.to_string()).collect()),
            ciphers: Some(vec![Cipher {
                name: Some("ECDHE-RSA-AES128-GCM-SHA256".into()),
                priority: Some(1),
            }]),
            supported_load_balancer_types: Some(vec!["application".into(), "network".into()]),
        })
        .collect();
    Ok(DescribeSSLPoliciesOutput {
        ssl_policies: Some(policies),
        next_marker: None,
    })
}
