//! The gpufleet server: REST API, authentication, authorisation, audit, the
//! outbox relay and the command-line client. Only this crate knows HTTP.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod enricher;
pub mod error;
pub mod graphql;
pub mod grpc;
pub mod grpc_docs;
pub mod metrics;
pub mod openapi;
pub mod provision;
pub mod ratelimit;
pub mod relay;
pub mod server;
pub mod state;
pub mod tls;
