//! What a protocol implementation plugs into the server: `RpcService`, `CallContext`, codec helpers.

use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use futures::future::BoxFuture;
use prost::Message;

use crate::error::RpcError;

/// Who is calling, as established for the whole connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerIdentity {
    /// SIMPLE auth: the connection context's `effectiveUser` (and `realUser` for proxy users).
    Simple {
        /// The effective user name (empty if the client sent none).
        user: String,
        /// The real user when the client acts as a proxy user.
        real_user: Option<String>,
    },
    /// TOKEN auth (SASL DIGEST-MD5): the token kind and the raw identifier bytes it carried.
    Token {
        /// Token kind, e.g. `YARN_AM_RM_TOKEN`.
        kind: String,
        /// The token identifier bytes, exactly as the client presented them.
        identifier: Vec<u8>,
    },
}

impl CallerIdentity {
    /// The user name for SIMPLE callers; `None` for token callers.
    pub fn simple_user(&self) -> Option<&str> {
        match self {
            CallerIdentity::Simple { user, .. } => Some(user),
            CallerIdentity::Token { .. } => None,
        }
    }
}

/// What a handler knows about one call besides its request message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// Who is calling.
    pub identity: CallerIdentity,
    /// The protocol the call names, e.g. `org.apache.hadoop.yarn.api.ApplicationClientProtocolPB`.
    pub protocol: String,
    /// The peer's socket address.
    pub peer_addr: SocketAddr,
    /// The call id (unique per client, not per connection).
    pub call_id: i32,
}

/// One protocol served by the server; object safe, shared between connections.
///
/// Implement `call` as a `match` on the method name, ending with
/// `_ => Err(RpcError::no_such_method(self.protocol(), &method))` (see [`typed_call`]).
pub trait RpcService: Send + Sync + 'static {
    /// The protocol name clients send, e.g. `org.apache.hadoop.yarn.api.ApplicationClientProtocolPB`.
    fn protocol(&self) -> &'static str;

    /// Handles one call; `request` is the encoded request message, the result the encoded response.
    fn call(
        &self,
        context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>>;
}

/// Decodes a request message; a malformed one becomes an `IllegalArgumentException` RpcError.
pub fn decode<M: Message + Default>(request: Bytes) -> Result<M, RpcError> {
    M::decode(request)
        .map_err(|error| RpcError::undecodable_request(short_type_name::<M>(), &error))
}

/// Encodes a response message.
pub fn encode<M: Message>(response: &M) -> Bytes {
    Bytes::from(response.encode_to_vec())
}

/// Decodes the request, runs `handler`, encodes its response: one line per method in a `match`.
///
/// ```ignore
/// "getNewApplication" => typed_call(request, |req| rm.get_new_application(&context, req)).await,
/// ```
pub async fn typed_call<Req, Resp, Handler, Fut>(
    request: Bytes,
    handler: Handler,
) -> Result<Bytes, RpcError>
where
    Req: Message + Default,
    Resp: Message,
    Handler: FnOnce(Req) -> Fut,
    Fut: Future<Output = Result<Resp, RpcError>>,
{
    let request = decode::<Req>(request)?;
    let response = handler(request).await?;
    Ok(encode(&response))
}

fn short_type_name<M>() -> &'static str {
    let full = std::any::type_name::<M>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_proto::common::TokenProto;

    #[test]
    fn decode_failure_names_the_message_type() {
        let error = decode::<TokenProto>(Bytes::from_static(&[0x0a, 0x05, 0x01])).unwrap_err();
        assert_eq!(error.class_name, crate::error::java_class::ILLEGAL_ARGUMENT);
        assert!(error.message.contains("TokenProto"), "{}", error.message);
    }

    #[tokio::test]
    async fn typed_call_round_trips() {
        let token = TokenProto {
            identifier: vec![1],
            password: vec![2],
            kind: "k".into(),
            service: "s".into(),
        };
        let reply = typed_call(encode(&token), |mut request: TokenProto| async move {
            request.kind.push('!');
            Ok::<_, RpcError>(request)
        })
        .await
        .unwrap();
        assert_eq!(decode::<TokenProto>(reply).unwrap().kind, "k!");
    }
}
