//! `gpufleet.v1.Nodes` (`proto/gpufleet/v1/nodes.proto`): a node with its parts, and a
//! filtered page of nodes with their GPUs, each in a constant number of statements.

use std::collections::HashMap;

use fleet_core::CoreError;
use fleet_db::{AssetFilter, DbError};
use fleet_model::asset::{Asset, AssetKind};
use tonic::{Request, Response, Status};

use super::{api_status, asset, pb, principal, status, Api};

/// A node with its children sorted into the message's lists.
fn node_message(node: Asset, children: Vec<Asset>, rack: Option<Asset>) -> pb::Node {
    let mut n = pb::Node {
        node: Some(asset(node)),
        rack: rack.map(asset),
        ..Default::default()
    };
    for c in children {
        match c.kind {
            AssetKind::Gpu => n.gpus.push(asset(c)),
            AssetKind::Nic => n.nics.push(asset(c)),
            AssetKind::Disk => n.disks.push(asset(c)),
            AssetKind::Bmc if n.bmc.is_none() => n.bmc = Some(asset(c)),
            _ => {}
        }
    }
    n
}

#[tonic::async_trait]
impl pb::nodes_server::Nodes for Api {
    async fn get_node(
        &self,
        req: Request<pb::GetNodeRequest>,
    ) -> Result<Response<pb::Node>, Status> {
        let p = principal(&self.0, &req).await?;
        let id = &req.get_ref().id;
        let core = &self.0.core;
        let node = match core.asset(&p, id).await {
            Ok(a) if a.kind == AssetKind::Node => a,
            Ok(a) => {
                return Err(Status::not_found(format!(
                    "asset {id} is a {}, not a node",
                    a.kind.as_str()
                )))
            }
            // A node may be named instead.
            Err(CoreError::Store(DbError::NotFound(_))) => core
                .resolve(&p, AssetKind::Node, id)
                .await
                .map_err(status)?,
            Err(e) => return Err(status(e)),
        };
        let children = core
            .children_of(&p, std::slice::from_ref(&node.id), None)
            .await
            .map_err(status)?;
        let rack = match &node.rack_id {
            Some(r) => core
                .assets_by_ids(&p, std::slice::from_ref(r))
                .await
                .map_err(status)?
                .pop(),
            None => None,
        };
        Ok(Response::new(node_message(node, children, rack)))
    }

    async fn list_nodes(
        &self,
        req: Request<pb::ListNodesRequest>,
    ) -> Result<Response<pb::ListNodesResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let mut f = AssetFilter {
            kind: Some(AssetKind::Node),
            limit: if r.page_size == 0 {
                50
            } else {
                r.page_size as i64
            },
            rack_id: r.rack,
            model: r.model,
            name_prefix: r.name,
            labels: r.labels.into_iter().collect(),
            ..Default::default()
        };
        if let Some(s) = r.state {
            f.state = Some(
                s.parse()
                    .map_err(|e: fleet_model::lifecycle::UnknownState| {
                        Status::invalid_argument(e.to_string())
                    })?,
            );
        }
        if !r.page_token.is_empty() {
            f.after_id = Some(crate::api::decode_cursor(&r.page_token).map_err(api_status)?);
        }
        let core = &self.0.core;
        let page = core.assets(&p, &f).await.map_err(status)?;
        let ids: Vec<String> = page.items.iter().map(|n| n.id.clone()).collect();
        let mut gpus: HashMap<String, Vec<Asset>> = HashMap::new();
        for g in core
            .children_of(&p, &ids, Some(AssetKind::Gpu))
            .await
            .map_err(status)?
        {
            if let Some(parent) = g.parent_id.clone() {
                gpus.entry(parent).or_default().push(g);
            }
        }
        let nodes = page
            .items
            .into_iter()
            .map(|n| {
                let g = gpus.remove(&n.id).unwrap_or_default();
                node_message(n, g, None)
            })
            .collect();
        Ok(Response::new(pb::ListNodesResponse {
            nodes,
            next_page_token: page
                .next_after
                .as_deref()
                .map(crate::api::encode_cursor)
                .unwrap_or_default(),
        }))
    }
}
