//! ELBv2 over the query protocol, as botocore sends it (forms signed for
//! `elasticloadbalancing`, XML answers): the lifecycle of load balancers,
//! target groups, listeners, rules and targets, what it hands the data
//! plane (`App::load_balancing`), and AWS's errors. boto3, the aws CLI and
//! the waiters drive the same in compat-tests/test_elbv2.py.
//!
//! AWS's words these tests rely on, and where they are quoted:
//! - "Load balancers '[NAME]' not found": hashicorp/terraform-provider-aws#10669.
//! - "One or more target groups not found": aws-samples/service-screener-v2#212.
//! - "Target group 'ARN' is currently in use by a listener or a rule":
//!   aws/copilot-cli#2593, cloudposse/terraform-aws-alb-ingress#24.
//! - "Target groups 'ARN' not found": aws/copilot-cli#3833.
//! - "Instance ID 'x' is not valid": ansible/ansible#30962.
//! - "The Availability Zone is required for IP address 'x' because it is
//!   not in the VPC": kubernetes-sigs/aws-load-balancer-controller#3714.

mod common;

use common::{xml_elements, RawResponse, TestServer};
use std::time::Duration;

async fn elb(server: &TestServer, action: &str, params: &[(&str, &str)]) -> RawResponse {
    server
        .query("elasticloadbalancing", "2015-12-01", action, params)
        .await
}

/// A call that must succeed; its XML answer.
async fn ok(server: &TestServer, action: &str, params: &[(&str, &str)]) -> String {
    let r = elb(server, action, params).await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
    assert!(
        r.body
            .contains("xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\""),
        "{}",
        r.body
    );
    r.body
}

/// A call that must fail with `code`; its message.
async fn fails(server: &TestServer, code: &str, action: &str, params: &[(&str, &str)]) -> String {
    let r = elb(server, action, params).await;
    assert_eq!(r.status, 400, "{action}: {}", r.body);
    assert!(r.body.starts_with("<?xml"), "{}", r.body);
    assert_eq!(
        xml_elements(&r.body, "Code"),
        [code],
        "{action}: {}",
        r.body
    );
    xml_elements(&r.body, "Message").remove(0)
}

fn first(xml: &str, name: &str) -> String {
    xml_elements(xml, name)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
}

/// The default VPC's subnets (one per zone) and the VPC's id, from EC2.
async fn network(server: &TestServer) -> (Vec<String>, String) {
    let subnets = server.ec2_raw("Action=DescribeSubnets").await.body;
    let vpcs = server.ec2_raw("Action=DescribeVpcs").await.body;
    (xml_elements(&subnets, "subnetId"), first(&vpcs, "vpcId"))
}

async fn load_balancer(server: &TestServer, name: &str, extra: &[(&str, &str)]) -> String {
    let (subnets, _) = network(server).await;
    let mut params = vec![
        ("Name", name),
        ("Subnets.member.1", subnets[0].as_str()),
        ("Subnets.member.2", subnets[1].as_str()),
    ];
    params.extend_from_slice(extra);
    first(
        &ok(server, "CreateLoadBalancer", &params).await,
        "LoadBalancerArn",
    )
}

async fn target_group(server: &TestServer, name: &str, extra: &[(&str, &str)]) -> String {
    let (_, vpc) = network(server).await;
    let mut params = vec![
        ("Name", name),
        ("Protocol", "HTTP"),
        ("Port", "8080"),
        ("VpcId", vpc.as_str()),
        ("TargetType", "ip"),
    ];
    params.extend_from_slice(extra);
    first(
        &ok(server, "CreateTargetGroup", &params).await,
        "TargetGroupArn",
    )
}

async fn forward_listener(server: &TestServer, lb: &str, port: &str, tg: &str) -> String {
    let body = ok(
        server,
        "CreateListener",
        &[
            ("LoadBalancerArn", lb),
            ("Protocol", "HTTP"),
            ("Port", port),
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", tg),
        ],
    )
    .await;
    first(&body, "ListenerArn")
}

#[tokio::test]
async fn a_load_balancer_is_provisioning_when_created_and_active_after() {
    let server = TestServer::start().await;
    let (subnets, vpc) = network(&server).await;
    let body = ok(
        &server,
        "CreateLoadBalancer",
        &[
            ("Name", "web"),
            ("Subnets.member.1", &subnets[0]),
            ("Subnets.member.2", &subnets[1]),
        ],
    )
    .await;
    assert_eq!(first(&body, "Code"), "provisioning");
    let dns = first(&body, "DNSName");
    assert!(
        dns.starts_with("web-") && dns.ends_with(".us-east-1.elb.localhost"),
        "{dns}"
    );
    assert_eq!(first(&body, "Scheme"), "internet-facing");
    assert_eq!(first(&body, "Type"), "application");
    assert_eq!(first(&body, "VpcId"), vpc);
    assert_eq!(first(&body, "CanonicalHostedZoneId"), "Z35SXDOTRQ7X7K");
    assert_eq!(xml_elements(&body, "ZoneName").len(), 2);
    // An ALB without groups gets its VPC's default security group.
    assert!(first(&body, "SecurityGroups").contains("sg-"), "{body}");
    let described = ok(
        &server,
        "DescribeLoadBalancers",
        &[("Names.member.1", "web")],
    )
    .await;
    assert_eq!(first(&described, "Code"), "active");
    // Internal load balancers' names begin with internal-.
    let internal = ok(
        &server,
        "CreateLoadBalancer",
        &[
            ("Name", "inside"),
            ("Scheme", "internal"),
            ("Type", "network"),
            ("Subnets.member.1", &subnets[0]),
        ],
    )
    .await;
    assert!(first(&internal, "DNSName").starts_with("internal-inside-"));
    assert!(first(&internal, "LoadBalancerArn").contains(":loadbalancer/net/inside/"));
    assert!(xml_elements(&internal, "SecurityGroups").is_empty());
}

#[tokio::test]
async fn the_same_create_is_answered_with_the_same_load_balancer_and_another_is_a_duplicate() {
    let server = TestServer::start().await;
    let arn = load_balancer(&server, "twice", &[]).await;
    assert_eq!(load_balancer(&server, "twice", &[]).await, arn);
    let (subnets, _) = network(&server).await;
    let message = fails(
        &server,
        "DuplicateLoadBalancerName",
        "CreateLoadBalancer",
        &[
            ("Name", "twice"),
            ("Scheme", "internal"),
            ("Subnets.member.1", &subnets[0]),
            ("Subnets.member.2", &subnets[1]),
        ],
    )
    .await;
    assert_eq!(
        message,
        "A load balancer with the same name 'twice' exists, but with different settings"
    );
}

#[tokio::test]
async fn load_balancers_need_two_zones_and_known_subnets() {
    let server = TestServer::start().await;
    let (subnets, _) = network(&server).await;
    let m = fails(
        &server,
        "ValidationError",
        "CreateLoadBalancer",
        &[("Name", "one"), ("Subnets.member.1", &subnets[0])],
    )
    .await;
    assert_eq!(
        m,
        "At least two subnets in two different Availability Zones must be specified"
    );
    fails(
        &server,
        "SubnetNotFound",
        "CreateLoadBalancer",
        &[
            ("Name", "bad"),
            ("Subnets.member.1", &subnets[0]),
            ("Subnets.member.2", "subnet-0123456789abcdef0"),
        ],
    )
    .await;
    let m = fails(
        &server,
        "ValidationError",
        "CreateLoadBalancer",
        &[("Name", "bad_name")],
    )
    .await;
    assert!(m.starts_with("Load balancer name 'bad_name'"), "{m}");
}

#[tokio::test]
async fn describe_names_what_is_missing_and_pages_with_markers() {
    let server = TestServer::start().await;
    for name in ["a", "b", "c"] {
        load_balancer(&server, name, &[]).await;
    }
    let m = fails(
        &server,
        "LoadBalancerNotFound",
        "DescribeLoadBalancers",
        &[("Names.member.1", "a"), ("Names.member.2", "nope")],
    )
    .await;
    assert_eq!(m, "Load balancers '[nope]' not found");
    fails(
        &server,
        "LoadBalancerNotFound",
        "DescribeLoadBalancers",
        &[(
            "LoadBalancerArns.member.1",
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/x/0123456789abcdef",
        )],
    )
    .await;
    let page1 = ok(&server, "DescribeLoadBalancers", &[("PageSize", "2")]).await;
    assert_eq!(xml_elements(&page1, "LoadBalancerName").len(), 2);
    let marker = first(&page1, "NextMarker");
    let page2 = ok(
        &server,
        "DescribeLoadBalancers",
        &[("PageSize", "2"), ("Marker", &marker)],
    )
    .await;
    let mut names = xml_elements(&page1, "LoadBalancerName");
    names.extend(xml_elements(&page2, "LoadBalancerName"));
    names.sort();
    assert_eq!(names, ["a", "b", "c"]);
    assert!(xml_elements(&page2, "NextMarker").is_empty());
}

#[tokio::test]
async fn listeners_open_in_the_plane_and_close_with_their_load_balancer() {
    let server = TestServer::start().await;
    let lb = load_balancer(&server, "web", &[]).await;
    let tg = target_group(&server, "app", &[]).await;
    let listener = forward_listener(&server, &lb, "8089", &tg).await;
    let open = server.app.load_balancing.listeners();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].0.as_str(), open[0].1), (listener.as_str(), 8089));
    // Where it listens, for users and tests.
    let where_ = server
        .raw("GET", "/_ecsbox/elbv2/listeners", &[], b"")
        .await
        .json();
    assert_eq!(where_[0]["listenerArn"], listener.as_str());
    assert_eq!(where_[0]["loadBalancerArn"], lb.as_str());
    assert_eq!(where_[0]["port"], 8089);
    assert!(where_[0]["localAddress"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    // Same port again on the same load balancer.
    let m = fails(
        &server,
        "DuplicateListener",
        "CreateListener",
        &[
            ("LoadBalancerArn", &lb),
            ("Protocol", "HTTP"),
            ("Port", "8089"),
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", &tg),
        ],
    )
    .await;
    assert_eq!(
        m,
        format!("A listener already exists on this port for this load balancer '{lb}'")
    );
    // The target group now names its load balancer.
    let groups = ok(&server, "DescribeTargetGroups", &[("LoadBalancerArn", &lb)]).await;
    assert_eq!(
        first(&groups, "LoadBalancerArns"),
        format!("<member>{lb}</member>")
    );
    ok(&server, "DeleteLoadBalancer", &[("LoadBalancerArn", &lb)]).await;
    assert!(server.app.load_balancing.listeners().is_empty());
    fails(
        &server,
        "ListenerNotFound",
        "DescribeListeners",
        &[("ListenerArns.member.1", &listener)],
    )
    .await;
    // Deleting it again succeeds, as on AWS.
    ok(&server, "DeleteLoadBalancer", &[("LoadBalancerArn", &lb)]).await;
}

#[tokio::test]
async fn a_target_group_in_use_cannot_be_deleted() {
    let server = TestServer::start().await;
    let lb = load_balancer(&server, "web", &[]).await;
    let tg = target_group(&server, "app", &[]).await;
    let listener = forward_listener(&server, &lb, "8090", &tg).await;
    let m = fails(
        &server,
        "ResourceInUse",
        "DeleteTargetGroup",
        &[("TargetGroupArn", &tg)],
    )
    .await;
    assert_eq!(
        m,
        format!("Target group '{tg}' is currently in use by a listener or a rule")
    );
    ok(&server, "DeleteListener", &[("ListenerArn", &listener)]).await;
    ok(&server, "DeleteTargetGroup", &[("TargetGroupArn", &tg)]).await;
    assert!(server.app.load_balancing.target_group(&tg).is_none());
    let m = fails(
        &server,
        "TargetGroupNotFound",
        "DescribeTargetGroups",
        &[("TargetGroupArns.member.1", &tg)],
    )
    .await;
    assert_eq!(m, "One or more target groups not found");
}

#[tokio::test]
async fn target_groups_get_aws_health_check_defaults_and_reach_the_plane() {
    let server = TestServer::start().await;
    let tg = target_group(&server, "app", &[]).await;
    let body = ok(
        &server,
        "DescribeTargetGroups",
        &[("Names.member.1", "app")],
    )
    .await;
    assert_eq!(first(&body, "HealthCheckProtocol"), "HTTP");
    assert_eq!(first(&body, "HealthCheckPort"), "traffic-port");
    assert_eq!(first(&body, "HealthCheckPath"), "/");
    assert_eq!(first(&body, "HealthCheckIntervalSeconds"), "30");
    assert_eq!(first(&body, "HealthCheckTimeoutSeconds"), "6");
    assert_eq!(first(&body, "HealthyThresholdCount"), "5");
    assert_eq!(first(&body, "UnhealthyThresholdCount"), "2");
    assert_eq!(first(&body, "HttpCode"), "200");
    let spec = server.app.load_balancing.target_group(&tg).unwrap();
    assert_eq!(spec.health_check.interval, Duration::from_secs(30));
    assert_eq!(spec.health_check.matcher, vec![(200, 200)]);
    assert_eq!(spec.deregistration_delay, Duration::from_secs(300));
    // A TCP group checks over TCP, with no path or matcher.
    let (_, vpc) = network(&server).await;
    let tcp = ok(
        &server,
        "CreateTargetGroup",
        &[
            ("Name", "tcp"),
            ("Protocol", "TCP"),
            ("Port", "5432"),
            ("VpcId", &vpc),
        ],
    )
    .await;
    assert_eq!(first(&tcp, "HealthCheckProtocol"), "TCP");
    assert_eq!(first(&tcp, "TargetType"), "instance");
    assert!(xml_elements(&tcp, "HealthCheckPath").is_empty());
    // ModifyTargetGroup changes the plane's health check.
    ok(
        &server,
        "ModifyTargetGroup",
        &[
            ("TargetGroupArn", &tg),
            ("HealthCheckPath", "/health"),
            ("HealthCheckIntervalSeconds", "5"),
            ("HealthCheckTimeoutSeconds", "2"),
            ("Matcher.HttpCode", "200-299"),
        ],
    )
    .await;
    let spec = server.app.load_balancing.target_group(&tg).unwrap();
    assert_eq!(spec.health_check.path, "/health");
    assert_eq!(spec.health_check.interval, Duration::from_secs(5));
    assert_eq!(spec.health_check.matcher, vec![(200, 299)]);
    let m = fails(
        &server,
        "ValidationError",
        "ModifyTargetGroup",
        &[("TargetGroupArn", &tg), ("HealthCheckTimeoutSeconds", "5")],
    )
    .await;
    assert!(m.contains("must be smaller than the interval"), "{m}");
}

#[tokio::test]
async fn attributes_are_honoured_stored_or_refused_by_name() {
    let server = TestServer::start().await;
    let tg = target_group(&server, "app", &[]).await;
    ok(
        &server,
        "ModifyTargetGroupAttributes",
        &[
            ("TargetGroupArn", &tg),
            (
                "Attributes.member.1.Key",
                "deregistration_delay.timeout_seconds",
            ),
            ("Attributes.member.1.Value", "5"),
            ("Attributes.member.2.Key", "load_balancing.algorithm.type"),
            ("Attributes.member.2.Value", "least_outstanding_requests"),
            ("Attributes.member.3.Key", "stickiness.enabled"),
            ("Attributes.member.3.Value", "true"),
            (
                "Attributes.member.4.Key",
                "stickiness.lb_cookie.duration_seconds",
            ),
            ("Attributes.member.4.Value", "60"),
        ],
    )
    .await;
    let spec = server.app.load_balancing.target_group(&tg).unwrap();
    assert_eq!(spec.deregistration_delay, Duration::from_secs(5));
    assert_eq!(
        spec.algorithm,
        ecsbox::lb::Algorithm::LeastOutstandingRequests
    );
    assert_eq!(spec.stickiness, Some(Duration::from_secs(60)));
    // Slow start: not with least outstanding requests (AWS: "You can't
    // enable slow start mode when using the least outstanding requests"
    // algorithm), 30 to 900 seconds or 0, and honoured by the plane.
    let slow_start = |secs: &'static str| {
        [
            ("Attributes.member.1.Key", "slow_start.duration_seconds"),
            ("Attributes.member.1.Value", secs),
        ]
    };
    fails(
        &server,
        "InvalidConfigurationRequest",
        "ModifyTargetGroupAttributes",
        &[
            &[("TargetGroupArn", tg.as_str())][..],
            &slow_start("30")[..],
        ]
        .concat(),
    )
    .await;
    ok(
        &server,
        "ModifyTargetGroupAttributes",
        &[
            ("TargetGroupArn", &tg),
            ("Attributes.member.1.Key", "load_balancing.algorithm.type"),
            ("Attributes.member.1.Value", "round_robin"),
            ("Attributes.member.2.Key", "slow_start.duration_seconds"),
            ("Attributes.member.2.Value", "30"),
        ],
    )
    .await;
    let spec = server.app.load_balancing.target_group(&tg).unwrap();
    assert_eq!(spec.slow_start, Duration::from_secs(30));
    fails(
        &server,
        "ValidationError",
        "ModifyTargetGroupAttributes",
        &[
            &[("TargetGroupArn", tg.as_str())][..],
            &slow_start("10")[..],
        ]
        .concat(),
    )
    .await;
    let m = fails(
        &server,
        "ValidationError",
        "ModifyTargetGroupAttributes",
        &[
            ("TargetGroupArn", &tg),
            ("Attributes.member.1.Key", "bogus.key"),
            ("Attributes.member.1.Value", "1"),
        ],
    )
    .await;
    assert_eq!(
        m,
        "Target group attribute key 'bogus.key' is not recognized"
    );
    fails(
        &server,
        "InvalidConfigurationRequest",
        "ModifyTargetGroupAttributes",
        &[
            ("TargetGroupArn", &tg),
            ("Attributes.member.1.Key", "stickiness.type"),
            ("Attributes.member.1.Value", "app_cookie"),
        ],
    )
    .await;
    // Deletion protection keeps a load balancer.
    let lb = load_balancer(&server, "kept", &[]).await;
    let attrs = ok(
        &server,
        "ModifyLoadBalancerAttributes",
        &[
            ("LoadBalancerArn", &lb),
            ("Attributes.member.1.Key", "deletion_protection.enabled"),
            ("Attributes.member.1.Value", "true"),
            ("Attributes.member.2.Key", "idle_timeout.timeout_seconds"),
            ("Attributes.member.2.Value", "120"),
        ],
    )
    .await;
    assert!(
        attrs.contains("<Key>idle_timeout.timeout_seconds</Key><Value>120</Value>"),
        "{attrs}"
    );
    let m = fails(
        &server,
        "OperationNotPermitted",
        "DeleteLoadBalancer",
        &[("LoadBalancerArn", &lb)],
    )
    .await;
    assert!(m.contains("deletion protection is enabled"), "{m}");
    fails(
        &server,
        "InvalidConfigurationRequest",
        "ModifyLoadBalancerAttributes",
        &[
            ("LoadBalancerArn", &lb),
            ("Attributes.member.1.Key", "access_logs.s3.enabled"),
            ("Attributes.member.1.Value", "true"),
        ],
    )
    .await;
}

#[tokio::test]
async fn rules_have_priorities_and_the_default_rule_comes_last() {
    let server = TestServer::start().await;
    let lb = load_balancer(&server, "web", &[]).await;
    let tg = target_group(&server, "app", &[]).await;
    let listener = forward_listener(&server, &lb, "8091", &tg).await;
    let rule = |priority: &'static str, path: &'static str| {
        let listener = listener.clone();
        let server = &server;
        async move {
            elb(
                server,
                "CreateRule",
                &[
                    ("ListenerArn", &listener),
                    ("Priority", priority),
                    ("Conditions.member.1.Field", "path-pattern"),
                    (
                        "Conditions.member.1.PathPatternConfig.Values.member.1",
                        path,
                    ),
                    ("Actions.member.1.Type", "fixed-response"),
                    ("Actions.member.1.FixedResponseConfig.StatusCode", "418"),
                    (
                        "Actions.member.1.FixedResponseConfig.ContentType",
                        "text/plain",
                    ),
                ],
            )
            .await
        }
    };
    let r20 = rule("20", "/b/*").await;
    assert_eq!(r20.status, 200, "{}", r20.body);
    let r10 = rule("10", "/a/*").await;
    assert_eq!(r10.status, 200, "{}", r10.body);
    let taken = rule("10", "/c/*").await;
    assert_eq!(xml_elements(&taken.body, "Code"), ["PriorityInUse"]);
    assert_eq!(
        xml_elements(&taken.body, "Message"),
        ["Priority '10' is currently in use"]
    );
    let rules = ok(&server, "DescribeRules", &[("ListenerArn", &listener)]).await;
    assert_eq!(xml_elements(&rules, "Priority"), ["10", "20", "default"]);
    assert_eq!(
        xml_elements(&rules, "IsDefault"),
        ["false", "false", "true"]
    );
    // Swapping priorities at once is no conflict.
    let arn10 = first(&r10.body, "RuleArn");
    let arn20 = first(&r20.body, "RuleArn");
    ok(
        &server,
        "SetRulePriorities",
        &[
            ("RulePriorities.member.1.RuleArn", &arn10),
            ("RulePriorities.member.1.Priority", "20"),
            ("RulePriorities.member.2.RuleArn", &arn20),
            ("RulePriorities.member.2.Priority", "10"),
        ],
    )
    .await;
    let rules = ok(&server, "DescribeRules", &[("ListenerArn", &listener)]).await;
    assert_eq!(xml_elements(&rules, "RuleArn")[0], arn20);
    let default_rule = xml_elements(&rules, "RuleArn")[2].clone();
    fails(
        &server,
        "OperationNotPermitted",
        "DeleteRule",
        &[("RuleArn", &default_rule)],
    )
    .await;
    ok(&server, "DeleteRule", &[("RuleArn", &arn10)]).await;
    fails(
        &server,
        "RuleNotFound",
        "DeleteRule",
        &[("RuleArn", &arn10)],
    )
    .await;
}

#[tokio::test]
async fn actions_ecsbox_cannot_perform_are_refused_by_name() {
    let server = TestServer::start().await;
    let lb = load_balancer(&server, "web", &[]).await;
    let m = fails(
        &server,
        "InvalidLoadBalancerAction",
        "CreateListener",
        &[
            ("LoadBalancerArn", &lb),
            ("Protocol", "HTTP"),
            ("Port", "80"),
            ("DefaultActions.member.1.Type", "authenticate-oidc"),
        ],
    )
    .await;
    assert!(m.contains("authenticate-oidc"), "{m}");
    let m = fails(
        &server,
        "TargetGroupNotFound",
        "CreateListener",
        &[
            ("LoadBalancerArn", &lb),
            ("Protocol", "HTTP"),
            ("Port", "80"),
            ("DefaultActions.member.1.Type", "forward"),
            (
                "DefaultActions.member.1.TargetGroupArn",
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/none/0123456789abcdef",
            ),
        ],
    )
    .await;
    assert!(m.starts_with("Target groups 'arn:"), "{m}");
    // HTTPS needs a certificate, as on AWS; any ACM-shaped ARN will do.
    fails(
        &server,
        "ValidationError",
        "CreateListener",
        &[
            ("LoadBalancerArn", &lb),
            ("Protocol", "HTTPS"),
            ("Port", "443"),
            ("DefaultActions.member.1.Type", "fixed-response"),
            (
                "DefaultActions.member.1.FixedResponseConfig.StatusCode",
                "200",
            ),
        ],
    )
    .await;
    let https = ok(
        &server,
        "CreateListener",
        &[
            ("LoadBalancerArn", &lb),
            ("Protocol", "HTTPS"),
            ("Port", "443"),
            (
                "Certificates.member.1.CertificateArn",
                "arn:aws:acm:us-east-1:000000000000:certificate/11111111-2222-3333-4444-555555555555",
            ),
            ("DefaultActions.member.1.Type", "redirect"),
            ("DefaultActions.member.1.RedirectConfig.StatusCode", "HTTP_301"),
            ("DefaultActions.member.1.RedirectConfig.Path", "/new"),
        ],
    )
    .await;
    assert_eq!(first(&https, "SslPolicy"), "ELBSecurityPolicy-2016-08");
}

#[tokio::test]
async fn ip_targets_register_in_the_plane_and_report_their_health() {
    let server = TestServer::start().await;
    let lb = load_balancer(&server, "web", &[]).await;
    let tg = target_group(&server, "app", &[]).await;
    ok(
        &server,
        "RegisterTargets",
        &[
            ("TargetGroupArn", &tg),
            ("Targets.member.1.Id", "172.31.7.9"),
            ("Targets.member.2.Id", "172.31.7.10"),
            ("Targets.member.2.Port", "9000"),
        ],
    )
    .await;
    // No load balancer forwards to the group yet: unused, as on AWS.
    let health = ok(&server, "DescribeTargetHealth", &[("TargetGroupArn", &tg)]).await;
    assert_eq!(xml_elements(&health, "State"), ["unused", "unused"]);
    assert_eq!(xml_elements(&health, "Reason")[0], "Target.NotInUse");
    forward_listener(&server, &lb, "8092", &tg).await;
    let health = ok(&server, "DescribeTargetHealth", &[("TargetGroupArn", &tg)]).await;
    assert_eq!(xml_elements(&health, "State"), ["initial", "initial"]);
    // Each at its own port (the group's unless given), checked there.
    let ids = xml_elements(&health, "Id");
    let ports = xml_elements(&health, "Port");
    let mut pairs: Vec<(String, String)> = ids.into_iter().zip(ports.clone()).collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("172.31.7.10".to_string(), "9000".to_string()),
            ("172.31.7.9".to_string(), "8080".to_string())
        ]
    );
    assert_eq!(xml_elements(&health, "HealthCheckPort"), ports);
    // One asked for explicitly that is not there.
    let asked = ok(
        &server,
        "DescribeTargetHealth",
        &[
            ("TargetGroupArn", &tg),
            ("Targets.member.1.Id", "172.31.7.11"),
        ],
    )
    .await;
    assert_eq!(xml_elements(&asked, "State"), ["unused"]);
    assert_eq!(xml_elements(&asked, "Reason"), ["Target.NotRegistered"]);
    // The plane has them, at their addresses.
    let in_plane = server.app.load_balancing.target_health(&tg);
    assert_eq!(in_plane.len(), 2);
    fails(
        &server,
        "InvalidTarget",
        "RegisterTargets",
        &[
            ("TargetGroupArn", &tg),
            ("Targets.member.1.Id", "127.0.0.1"),
            ("Targets.member.1.AvailabilityZone", "all"),
        ],
    )
    .await;
    let m = fails(
        &server,
        "ValidationError",
        "RegisterTargets",
        &[("TargetGroupArn", &tg), ("Targets.member.1.Id", "10.9.8.7")],
    )
    .await;
    assert_eq!(
        m,
        "The Availability Zone is required for IP address '10.9.8.7' because it is not in the VPC"
    );
    ok(
        &server,
        "DeregisterTargets",
        &[
            ("TargetGroupArn", &tg),
            ("Targets.member.1.Id", "172.31.7.9"),
        ],
    )
    .await;
    assert_eq!(server.app.load_balancing.target_health(&tg).len(), 1);
    fails(
        &server,
        "InvalidTarget",
        "DeregisterTargets",
        &[
            ("TargetGroupArn", &tg),
            ("Targets.member.1.Id", "172.31.7.9"),
        ],
    )
    .await;
}

#[tokio::test]
async fn instance_targets_are_ecs_container_instances_on_the_engine_host() {
    let mut config = ecsbox::config::Config::for_tests();
    config.container_instances = 1;
    let server = TestServer::start_with(config).await;
    server
        .client()
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .unwrap();
    let instance = server.app.store.with("000000000000", "us-east-1", |s| {
        s.container_instances
            .values()
            .next()
            .expect("a virtual container instance")
            .ec2_instance_id
            .clone()
    });
    let (_, vpc) = network(&server).await;
    let tg = first(
        &ok(
            &server,
            "CreateTargetGroup",
            &[
                ("Name", "bridge"),
                ("Protocol", "HTTP"),
                ("Port", "80"),
                ("VpcId", &vpc),
            ],
        )
        .await,
        "TargetGroupArn",
    );
    ok(
        &server,
        "RegisterTargets",
        &[
            ("TargetGroupArn", &tg),
            ("Targets.member.1.Id", &instance),
            ("Targets.member.1.Port", "32768"),
        ],
    )
    .await;
    let health = server.app.load_balancing.target_health(&tg);
    assert_eq!(health[0].key.id, instance);
    assert_eq!(health[0].key.port, 32768);
    let m = fails(
        &server,
        "ValidationError",
        "RegisterTargets",
        &[("TargetGroupArn", &tg), ("Targets.member.1.Id", "10.0.0.1")],
    )
    .await;
    assert_eq!(m, "Instance ID '10.0.0.1' is not valid");
    fails(
        &server,
        "InvalidTarget",
        "RegisterTargets",
        &[
            ("TargetGroupArn", &tg),
            ("Targets.member.1.Id", "i-0123456789abcdef0"),
        ],
    )
    .await;
}

#[tokio::test]
async fn tags_work_on_every_kind_of_resource() {
    let server = TestServer::start().await;
    let lb = load_balancer(
        &server,
        "web",
        &[("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "a")],
    )
    .await;
    let tg = target_group(&server, "app", &[]).await;
    let listener = forward_listener(&server, &lb, "8093", &tg).await;
    ok(
        &server,
        "AddTags",
        &[
            ("ResourceArns.member.1", &tg),
            ("ResourceArns.member.2", &listener),
            ("Tags.member.1.Key", "env"),
            ("Tags.member.1.Value", "dev"),
        ],
    )
    .await;
    let tags = ok(
        &server,
        "DescribeTags",
        &[
            ("ResourceArns.member.1", &lb),
            ("ResourceArns.member.2", &tg),
            ("ResourceArns.member.3", &listener),
        ],
    )
    .await;
    assert_eq!(xml_elements(&tags, "Key"), ["team", "env", "env"]);
    ok(
        &server,
        "RemoveTags",
        &[("ResourceArns.member.1", &tg), ("TagKeys.member.1", "env")],
    )
    .await;
    let tags = ok(&server, "DescribeTags", &[("ResourceArns.member.1", &tg)]).await;
    assert!(xml_elements(&tags, "Key").is_empty(), "{tags}");
    fails(
        &server,
        "DuplicateTagKeys",
        "AddTags",
        &[
            ("ResourceArns.member.1", &tg),
            ("Tags.member.1.Key", "k"),
            ("Tags.member.1.Value", "1"),
            ("Tags.member.2.Key", "k"),
            ("Tags.member.2.Value", "2"),
        ],
    )
    .await;
}

#[tokio::test]
async fn operations_not_built_answer_their_name_and_reset_forgets_everything() {
    let server = TestServer::start().await;
    let m = fails(&server, "InvalidAction", "DescribeAccountLimits", &[]).await;
    assert!(m.contains("DescribeAccountLimits"), "{m}");
    let lb = load_balancer(&server, "web", &[]).await;
    let tg = target_group(&server, "app", &[]).await;
    forward_listener(&server, &lb, "8094", &tg).await;
    let r = server.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(server.app.load_balancing.listeners().is_empty());
    assert!(server.app.load_balancing.target_group(&tg).is_none());
    let all = ok(&server, "DescribeLoadBalancers", &[]).await;
    assert!(xml_elements(&all, "LoadBalancerArn").is_empty(), "{all}");
}
