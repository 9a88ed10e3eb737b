//! The ECS agent's own calls. DiscoverPollEndpoint tells an agent where to
//! open its long-lived connections: ACS (`endpoint`), TCS
//! (`telemetryEndpoint`) and Service Connect (`serviceConnectEndpoint`). In
//! AWS these are hosts of their own (`https://ecs-a-1.REGION.amazonaws.com`,
//! `ecs-t-1...`, as the agent's functional tests record them); ecsbox has
//! one address, the one the call came to, and answers it for all three.
//! ecsbox does not serve the ACS and TCS websockets themselves (its virtual
//! container instances need no agent), so an agent that dials them gets
//! ecsbox's answer for an unknown path.

use super::WithContext;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::RegionState;

/// Where ecsbox is when a request carries no `Host` (HTTP/1.0): its
/// default listening address (`--listen`).
const DEFAULT_HOST: &str = "127.0.0.1:4566";

pub fn discover_poll_endpoint(
    _state: &mut RegionState,
    request: WithContext<DiscoverPollEndpointRequest>,
) -> Result<DiscoverPollEndpointResponse, ApiError> {
    // `cluster` and `containerInstance` only choose, in AWS, which of its
    // hosts the agent polls; ecsbox has one, so the answer is the same for
    // all. They are not checked against what exists: the operation's model
    // lists no ClusterNotFoundException, and AWS's answer for an unknown
    // cluster here is not known.
    let WithContext { input: _, ctx } = request;
    let url = format!("http://{}/", ctx.host.as_deref().unwrap_or(DEFAULT_HOST));
    Ok(DiscoverPollEndpointResponse {
        endpoint: Some(url.clone()),
        telemetry_endpoint: Some(url.clone()),
        service_connect_endpoint: Some(url),
    })
}
