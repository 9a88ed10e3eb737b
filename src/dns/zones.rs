//! DNS answers for Cloud Map's DNS namespaces, from what is registered in
//! them at the moment of the query (no cache here: a task that starts or
//! stops is in the next answer; the records' TTLs are the service's).
//!
//! The records are those Route 53 holds for a Cloud Map service (the
//! Cloud Map API reference, `DnsRecord`): `SERVICE.NAMESPACE` has an A,
//! AAAA, CNAME or SRV record per instance, from its `AWS_INSTANCE_IPV4`,
//! `AWS_INSTANCE_IPV6`, `AWS_INSTANCE_CNAME` and `AWS_INSTANCE_PORT`
//! attributes. An SRV record reads `1 1 PORT INSTANCE-ID.SERVICE.NAMESPACE`,
//! and that name has the instance's A and AAAA records ("AWS Cloud Map
//! automatically creates A and/or AAAA records that have the same name as
//! the value of service-hostname in the SRV record").
//!
//! Routing: MULTIVALUE answers up to eight healthy instances in a random
//! order (Route 53's multivalue answer routing); WEIGHTED one healthy
//! instance at random, or one of all when none is healthy (Route 53
//! considers every record of a weighted group healthy then). An instance
//! is healthy unless its service has a custom health check and the
//! instance was reported UNHEALTHY.
//!
//! Every (account, region) is searched: the resolver is one for the host,
//! as there is one VPC resolver per VPC and ecsbox's VPCs all share the
//! Docker engine.

use crate::cloudmap::{CloudMap, CloudMapRegion, Health, Instance, Namespace, Service};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Route 53's answer size for multivalue routing.
const MULTIVALUE_MAX: usize = 8;

/// The name servers and SOA of a Route 53 hosted zone, as AWS creates them
/// for a private one (the SOA's minimum is Route 53's default).
const ZONE_NS: &str = "ns-1536.awsdns-00.co.uk.";
const ZONE_HOSTMASTER: &str = "awsdns-hostmaster.amazon.com.";
const SOA_MINIMUM: u32 = 86400;
/// Cloud Map's default SOA TTL when the namespace gives none.
const DEFAULT_SOA_TTL: i64 = 15;
const NS_TTL: u32 = 172800;

/// What to do with one query.
#[derive(Debug)]
pub enum Outcome {
    /// ecsbox is authoritative for the name: this answer.
    Answer(Message),
    /// Not a Cloud Map name: ask the upstream resolvers.
    Forward,
}

/// The answer to `request` if it asks about a Cloud Map DNS namespace.
pub fn resolve(request: &Message, cloud_map: &CloudMap) -> Outcome {
    let [query] = request.queries.as_slice() else {
        return Outcome::Answer(error(request, ResponseCode::FormErr));
    };
    if request.metadata.op_code != OpCode::Query {
        return Outcome::Answer(error(request, ResponseCode::NotImp));
    }
    let qname = query.name().to_lowercase();
    let qtype = query.query_type();
    for (account, region) in cloud_map.keys() {
        let found = cloud_map.with(&account, &region, |r| {
            let zone = zone_of(r, &qname)?;
            Some(answer_in(r, zone, &qname, qtype, request))
        });
        if let Some(answer) = found {
            return Outcome::Answer(answer);
        }
    }
    Outcome::Forward
}

/// A response to `request` with its question and `code`, nothing else.
pub fn error(request: &Message, code: ResponseCode) -> Message {
    let mut m = Message::error_msg(request.metadata.id, request.metadata.op_code, code);
    m.metadata.recursion_desired = request.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.add_queries(request.queries.iter().cloned());
    m
}

/// The DNS namespace of this region that `name` lies in, the longest when
/// namespaces nest.
fn zone_of<'a>(r: &'a CloudMapRegion, name: &Name) -> Option<&'a Namespace> {
    r.namespaces
        .values()
        .filter(|n| n.kind.is_dns())
        .filter_map(|n| Some((n, zone_name(n)?)))
        .filter(|(_, zone)| zone.zone_of(name))
        .max_by_key(|(_, zone)| zone.num_labels())
        .map(|(n, _)| n)
}

fn zone_name(n: &Namespace) -> Option<Name> {
    let mut name = Name::from_ascii(&n.name).ok()?.to_lowercase();
    name.set_fqdn(true);
    Some(name)
}

fn answer_in(
    r: &CloudMapRegion,
    zone: &Namespace,
    qname: &Name,
    qtype: RecordType,
    request: &Message,
) -> Message {
    let mut m = error(request, ResponseCode::NoError);
    m.metadata.authoritative = true;
    let Some(apex) = zone_name(zone) else {
        return error(request, ResponseCode::ServFail);
    };
    let relative: Vec<String> = qname
        .iter()
        .take(usize::from(qname.num_labels() - apex.num_labels()))
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    let services: Vec<&Service> = r
        .services
        .values()
        .filter(|s| s.namespace_id == zone.id && s.dns.is_some())
        .collect();
    let found = match relative.as_slice() {
        [] => Some(apex_records(zone, &apex, qtype)),
        [service] => find(&services, service).map(|s| service_records(s, qname, qtype, &mut m)),
        [instance, service] => find(&services, service).and_then(|s| {
            let has_srv = record_ttl(s, "SRV").is_some();
            let i = s
                .instances
                .values()
                .find(|i| i.id.eq_ignore_ascii_case(instance))?;
            has_srv.then(|| address_records(s, i, qname, qtype))
        }),
        _ => None,
    };
    match found {
        Some(records) => {
            if records.is_empty() {
                m.add_authority(soa(zone, &apex));
            }
            m.add_answers(records);
        }
        None => {
            m.metadata.response_code = ResponseCode::NXDomain;
            m.add_authority(soa(zone, &apex));
        }
    }
    m
}

fn find<'a>(services: &[&'a Service], name: &str) -> Option<&'a Service> {
    services
        .iter()
        .copied()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

fn apex_records(zone: &Namespace, apex: &Name, qtype: RecordType) -> Vec<Record> {
    match qtype {
        RecordType::SOA => vec![soa(zone, apex)],
        RecordType::NS => vec![Record::from_rdata(
            apex.clone(),
            NS_TTL,
            RData::NS(NS(Name::from_ascii(ZONE_NS).expect("a valid name"))),
        )],
        _ => vec![],
    }
}

fn soa(zone: &Namespace, apex: &Name) -> Record {
    let ttl = zone.soa_ttl.unwrap_or(DEFAULT_SOA_TTL);
    Record::from_rdata(
        apex.clone(),
        u32::try_from(ttl).unwrap_or(0),
        RData::SOA(SOA::new(
            Name::from_ascii(ZONE_NS).expect("a valid name"),
            Name::from_ascii(ZONE_HOSTMASTER).expect("a valid name"),
            1,
            7200,
            900,
            1_209_600,
            SOA_MINIMUM,
        )),
    )
}

/// The TTL of the service's record of `kind`, if it has one.
fn record_ttl(s: &Service, kind: &str) -> Option<u32> {
    s.dns
        .as_ref()?
        .records
        .iter()
        .find(|r| r.kind == kind)
        .map(|r| u32::try_from(r.ttl).unwrap_or(0))
}

fn healthy(s: &Service, i: &Instance) -> bool {
    !s.custom_health || i.health != Health::Unhealthy
}

/// The instances an answer about `s` names, by its routing policy.
fn routed(s: &Service) -> Vec<&Instance> {
    let mut up: Vec<&Instance> = s.instances.values().filter(|i| healthy(s, i)).collect();
    fastrand::shuffle(&mut up);
    let weighted = s
        .dns
        .as_ref()
        .is_some_and(|d| d.routing_policy == "WEIGHTED");
    if !weighted {
        up.truncate(MULTIVALUE_MAX);
        return up;
    }
    if up.is_empty() {
        up = s.instances.values().collect();
        fastrand::shuffle(&mut up);
    }
    up.truncate(1);
    up
}

fn service_records(s: &Service, qname: &Name, qtype: RecordType, m: &mut Message) -> Vec<Record> {
    let instances = routed(s);
    let mut records = vec![];
    // A name with a CNAME has no other records: every question about it
    // gets the CNAME (RFC 1034 3.6.2).
    if let Some(ttl) = record_ttl(s, "CNAME") {
        if let Some(target) = instances
            .first()
            .and_then(|i| i.attributes.get("AWS_INSTANCE_CNAME"))
            .and_then(|c| Name::from_ascii(c).ok())
        {
            let mut target = target;
            target.set_fqdn(true);
            records.push(Record::from_rdata(
                qname.clone(),
                ttl,
                RData::CNAME(CNAME(target)),
            ));
        }
        return records;
    }
    for i in &instances {
        match qtype {
            RecordType::A | RecordType::AAAA => {
                let kind = if qtype == RecordType::A { "A" } else { "AAAA" };
                if record_ttl(s, kind).is_some() {
                    records.extend(address_records(s, i, qname, qtype));
                }
            }
            RecordType::SRV => {
                let (Some(ttl), Some(port)) = (
                    record_ttl(s, "SRV"),
                    i.attributes
                        .get("AWS_INSTANCE_PORT")
                        .and_then(|p| p.parse::<u16>().ok()),
                ) else {
                    continue;
                };
                let Ok(target) =
                    Name::from_ascii(&i.id).and_then(|label| label.append_domain(qname))
                else {
                    continue;
                };
                // The target's addresses ride along, as resolvers would ask next.
                for t in [RecordType::A, RecordType::AAAA] {
                    m.add_additionals(address_records(s, i, &target, t));
                }
                records.push(Record::from_rdata(
                    qname.clone(),
                    ttl,
                    RData::SRV(SRV::new(1, 1, port, target)),
                ));
            }
            _ => {}
        }
    }
    records
}

/// An instance's A or AAAA record under `name` (the service's name, for a
/// service with that record type, or the SRV target name, for which Cloud
/// Map creates them whenever the attribute is there, with the SRV TTL when
/// the service has no such record type).
fn address_records(s: &Service, i: &Instance, name: &Name, qtype: RecordType) -> Vec<Record> {
    let (kind, attribute) = match qtype {
        RecordType::A => ("A", "AWS_INSTANCE_IPV4"),
        RecordType::AAAA => ("AAAA", "AWS_INSTANCE_IPV6"),
        _ => return vec![],
    };
    let ttl = record_ttl(s, kind).or_else(|| record_ttl(s, "SRV"));
    let Some(ttl) = ttl else {
        return vec![];
    };
    let Some(value) = i.attributes.get(attribute) else {
        return vec![];
    };
    let data = match qtype {
        RecordType::A => value.parse().ok().map(|ip| RData::A(A(ip))),
        _ => value.parse().ok().map(|ip| RData::AAAA(AAAA(ip))),
    };
    data.map(|d| vec![Record::from_rdata(name.clone(), ttl, d)])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudmap::{DnsRecord, DnsSettings, NamespaceKind};
    use hickory_proto::op::Query;
    use std::collections::BTreeMap;

    fn namespace(id: &str, name: &str, kind: NamespaceKind) -> Namespace {
        Namespace {
            id: id.into(),
            arn: format!("arn:aws:servicediscovery:us-east-1:000000000000:namespace/{id}"),
            name: name.into(),
            kind,
            description: None,
            vpc: None,
            soa_ttl: Some(30),
            http_name: name.into(),
            hosted_zone_id: None,
            created: 0.0,
            creator_request_id: None,
        }
    }

    fn service(name: &str, ns: &str, routing: &str, records: &[(&str, i64)]) -> Service {
        Service {
            id: format!("srv-{name}"),
            arn: String::new(),
            name: name.into(),
            namespace_id: ns.into(),
            description: None,
            dns: Some(DnsSettings {
                routing_policy: routing.into(),
                records: records
                    .iter()
                    .map(|(k, ttl)| DnsRecord {
                        kind: (*k).into(),
                        ttl: *ttl,
                    })
                    .collect(),
            }),
            custom_health: false,
            kind: "DNS_HTTP".into(),
            created: 0.0,
            creator_request_id: None,
            attributes: BTreeMap::new(),
            instances: BTreeMap::new(),
            revision: 1,
        }
    }

    fn add(s: &mut Service, id: &str, health: Health, attrs: &[(&str, &str)]) {
        s.instances.insert(
            id.into(),
            Instance {
                id: id.into(),
                attributes: attrs
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
                creator_request_id: None,
                health,
                created: 0.0,
            },
        );
    }

    /// A region with namespace `app.local` (private), `web.example.com`
    /// (public) and `api.http` (HTTP), and services api (A, 3 instances,
    /// one unhealthy), db (SRV) and old (CNAME).
    fn cloud_map() -> CloudMap {
        let cm = CloudMap::new();
        cm.with("000000000000", "us-east-1", |r| {
            for ns in [
                namespace("ns-1", "app.local", NamespaceKind::DnsPrivate),
                namespace("ns-2", "web.example.com", NamespaceKind::DnsPublic),
                namespace("ns-3", "api.http", NamespaceKind::Http),
            ] {
                r.namespaces.insert(ns.id.clone(), ns);
            }
            let mut api = service("api", "ns-1", "MULTIVALUE", &[("A", 10)]);
            api.custom_health = true;
            add(
                &mut api,
                "t1",
                Health::Healthy,
                &[("AWS_INSTANCE_IPV4", "10.0.0.1")],
            );
            add(
                &mut api,
                "t2",
                Health::Healthy,
                &[("AWS_INSTANCE_IPV4", "10.0.0.2")],
            );
            add(
                &mut api,
                "t3",
                Health::Unhealthy,
                &[("AWS_INSTANCE_IPV4", "10.0.0.3")],
            );
            let mut db = service("db", "ns-1", "MULTIVALUE", &[("SRV", 20)]);
            add(
                &mut db,
                "abc",
                Health::Unknown,
                &[
                    ("AWS_INSTANCE_IPV4", "172.17.0.1"),
                    ("AWS_INSTANCE_PORT", "32768"),
                ],
            );
            let mut old = service("old", "ns-2", "WEIGHTED", &[("CNAME", 60)]);
            add(
                &mut old,
                "c1",
                Health::Unknown,
                &[("AWS_INSTANCE_CNAME", "new.example.org")],
            );
            for s in [api, db, old] {
                r.services.insert(s.id.clone(), s);
            }
        });
        cm
    }

    fn ask(cm: &CloudMap, name: &str, qtype: RecordType) -> Option<Message> {
        let mut q = Message::query();
        q.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        match resolve(&q, cm) {
            Outcome::Answer(m) => Some(m),
            Outcome::Forward => None,
        }
    }

    fn rdata(m: &Message) -> Vec<String> {
        let mut v: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_service_name_answers_its_healthy_instances_with_the_service_ttl() {
        let cm = cloud_map();
        let m = ask(&cm, "API.app.local.", RecordType::A).unwrap();
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.metadata.authoritative);
        assert_eq!(rdata(&m), ["10.0.0.1", "10.0.0.2"], "t3 is unhealthy");
        assert!(m.answers.iter().all(|r| r.ttl == 10));
    }

    #[test]
    fn srv_names_the_instance_host_whose_a_record_rides_along() {
        let cm = cloud_map();
        let m = ask(&cm, "db.app.local.", RecordType::SRV).unwrap();
        assert_eq!(rdata(&m), ["1 1 32768 abc.db.app.local."]);
        assert_eq!(m.answers[0].ttl, 20);
        assert_eq!(m.additionals.len(), 1);
        assert_eq!(m.additionals[0].data.to_string(), "172.17.0.1");
        // The target's own A record, as Cloud Map creates it for SRV.
        let a = ask(&cm, "abc.db.app.local.", RecordType::A).unwrap();
        assert_eq!(rdata(&a), ["172.17.0.1"]);
        // No A record of the service itself: NODATA with the zone's SOA.
        let none = ask(&cm, "db.app.local.", RecordType::A).unwrap();
        assert_eq!(none.metadata.response_code, ResponseCode::NoError);
        assert!(none.answers.is_empty());
        assert_eq!(none.authorities[0].record_type(), RecordType::SOA);
        assert_eq!(none.authorities[0].ttl, 30, "the namespace's SOA TTL");
    }

    #[test]
    fn unknown_names_in_a_namespace_are_nxdomain_and_others_go_upstream() {
        let cm = cloud_map();
        let m = ask(&cm, "nope.app.local.", RecordType::A).unwrap();
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
        let deep = ask(&cm, "x.y.api.app.local.", RecordType::A).unwrap();
        assert_eq!(deep.metadata.response_code, ResponseCode::NXDomain);
        assert!(ask(&cm, "example.org.", RecordType::A).is_none());
        assert!(ask(&cm, "local.", RecordType::A).is_none());
        // HTTP namespaces have no DNS.
        assert!(ask(&cm, "x.api.http.", RecordType::A).is_none());
    }

    #[test]
    fn the_apex_has_soa_and_ns_and_a_public_cname_service_answers_its_cname() {
        let cm = cloud_map();
        let soa = ask(&cm, "app.local.", RecordType::SOA).unwrap();
        assert_eq!(soa.answers[0].record_type(), RecordType::SOA);
        let ns = ask(&cm, "app.local.", RecordType::NS).unwrap();
        assert_eq!(rdata(&ns), [ZONE_NS]);
        let cname = ask(&cm, "old.web.example.com.", RecordType::A).unwrap();
        assert_eq!(rdata(&cname), ["new.example.org."]);
        assert_eq!(cname.answers[0].ttl, 60);
    }

    #[test]
    fn two_questions_are_a_format_error() {
        let cm = cloud_map();
        let mut q = Message::query();
        for n in ["api.app.local.", "db.app.local."] {
            q.add_query(Query::query(Name::from_ascii(n).unwrap(), RecordType::A));
        }
        let Outcome::Answer(m) = resolve(&q, &cm) else {
            panic!("answered here")
        };
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    }
}
