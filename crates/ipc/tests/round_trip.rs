//! Calls through our own client: round trips, concurrency, errors, shutdown.

mod common;

use std::time::{Duration, Instant};

use common::*;
use spindle_ipc::{java_class, ClientOptions, IpcClient, IpcClientError};

#[tokio::test]
async fn round_trip_reports_the_simple_user() {
    let server = start_default_server().await;
    let client = echo_client(server.local_addr(), "alice").await;
    let response: EchoResponse = client.call("echo", &echo("hello", 0)).await.unwrap();
    assert_eq!(response.text, "hello");
    assert_eq!(response.caller, "simple:alice");
    let second: EchoResponse = client.call("echo", &echo("again", 0)).await.unwrap();
    assert_eq!(
        second.call_id,
        response.call_id + 1,
        "call ids come from a per-client counter"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_calls_on_one_connection_complete_out_of_order() {
    let server = start_default_server().await;
    let client = echo_client(server.local_addr(), "bob").await;
    let started = Instant::now();
    let slow = {
        let client = client.clone();
        tokio::spawn(async move {
            let response: EchoResponse = client.call("echo", &echo("slow", 400)).await.unwrap();
            (response.text, Instant::now())
        })
    };
    // Make sure the slow call is on the wire first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fast: EchoResponse = client.call("echo", &echo("fast", 0)).await.unwrap();
    let fast_done = Instant::now();
    let (slow_text, slow_done) = slow.await.unwrap();
    assert_eq!((fast.text.as_str(), slow_text.as_str()), ("fast", "slow"));
    assert!(
        fast_done < slow_done,
        "the fast reply overtook the slow one"
    );
    assert!(
        fast_done - started < Duration::from_millis(350),
        "fast call was not blocked by the slow one"
    );

    // Many calls in parallel, each gets its own answer.
    let calls = (0..50).map(|index| {
        let client = client.clone();
        async move {
            let response: EchoResponse = client
                .call("echo", &echo(&format!("message {index}"), (50 - index) % 7))
                .await
                .unwrap();
            assert_eq!(response.text, format!("message {index}"));
        }
    });
    futures::future::join_all(calls).await;
    server.shutdown().await;
}

#[tokio::test]
async fn many_connections_are_served() {
    let server = start_default_server().await;
    let address = server.local_addr();
    let tasks = (0..40).map(|index| {
        tokio::spawn(async move {
            let client = echo_client(address, &format!("user{index}")).await;
            let response: EchoResponse = client.call("echo", &echo("x", 20)).await.unwrap();
            assert_eq!(response.caller, format!("simple:user{index}"));
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn remote_error_class_and_message_propagate() {
    let server = start_default_server().await;
    let client = echo_client(server.local_addr(), "carol").await;
    let error = client
        .call::<_, EchoResponse>("fail", &echo("", 0))
        .await
        .unwrap_err();
    match error {
        IpcClientError::Remote {
            class_name,
            message,
        } => {
            assert_eq!(class_name, APPLICATION_NOT_FOUND);
            assert_eq!(
                message,
                "Application with id 'application_1700000000000_0001' doesn't exist in RM."
            );
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
    // An ERROR reply leaves the connection usable.
    let response: EchoResponse = client.call("echo", &echo("after error", 0)).await.unwrap();
    assert_eq!(response.text, "after error");
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_method_and_protocol_are_errors_not_disconnects() {
    let server = start_default_server().await;
    let client = echo_client(server.local_addr(), "dave").await;
    let error = client
        .call::<_, EchoResponse>("noSuchMethod", &echo("", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IpcClientError::Remote { class_name, message }
            if class_name == java_class::NO_SUCH_METHOD && message.contains("noSuchMethod")),
        "{error:?}"
    );

    let stranger = IpcClient::connect(
        server.local_addr(),
        ClientOptions::new("org.example.NoSuchProtocolPB", "dave"),
    )
    .await
    .unwrap();
    let error = stranger
        .call::<_, EchoResponse>("echo", &echo("", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IpcClientError::Remote { class_name, message }
            if class_name == java_class::NO_SUCH_PROTOCOL && message.contains("org.example.NoSuchProtocolPB")),
        "{error:?}"
    );
    let response: EchoResponse = client.call("echo", &echo("ok", 0)).await.unwrap();
    assert_eq!(response.text, "ok");
    server.shutdown().await;
}

#[tokio::test]
async fn a_panicking_handler_answers_an_error_and_the_server_survives() {
    let server = start_default_server().await;
    let client = echo_client(server.local_addr(), "erin").await;
    let error = client
        .call::<_, EchoResponse>("panic", &echo("", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IpcClientError::Remote { message, .. } if message.contains("panic")),
        "{error:?}"
    );
    let response: EchoResponse = client.call("echo", &echo("alive", 0)).await.unwrap();
    assert_eq!(response.text, "alive");
    server.shutdown().await;
}

#[tokio::test]
async fn response_that_does_not_decode_is_a_typed_client_error() {
    let server = start_default_server().await;
    let client = IpcClient::connect(
        server.local_addr(),
        ClientOptions::new(APPLICATION_CLIENT_PROTOCOL, "frank"),
    )
    .await
    .unwrap();
    // The captured GetNewApplicationResponse is not an EchoResponse (field 1 is a message, not a string
    // of valid UTF-8 necessarily): decoding it as a wrong type must give Decode, not a panic.
    #[derive(Clone, PartialEq, prost::Message)]
    struct WrongShape {
        #[prost(fixed64, tag = "1")]
        value: u64,
    }
    let error = client
        .call::<_, WrongShape>("getNewApplication", &echo("", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            IpcClientError::Decode {
                message_type: "WrongShape",
                ..
            }
        ),
        "{error:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn calls_fail_promptly_when_the_server_goes_away() {
    let server = start_default_server().await;
    let client = echo_client(server.local_addr(), "gina").await;
    let pending = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call::<_, EchoResponse>("echo", &echo("never", 10_000))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    // Dropping the server closes connections at once, without waiting for the 10 s call.
    drop(server);
    let result = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("call hung")
        .unwrap();
    assert!(
        matches!(result, Err(IpcClientError::ConnectionClosed { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let error = client
        .call::<_, EchoResponse>("echo", &echo("late", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(error, IpcClientError::ConnectionClosed { .. }),
        "{error:?}"
    );
    assert!(!client.is_connected());
}

#[tokio::test]
async fn graceful_shutdown_lets_in_flight_calls_answer() {
    let server = start_default_server().await;
    let client = echo_client(server.local_addr(), "hank").await;
    let in_flight = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call::<_, EchoResponse>("echo", &echo("finishing", 300))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let address = server.local_addr();
    server.shutdown().await;
    let response = in_flight
        .await
        .unwrap()
        .expect("in-flight call answered before close");
    assert_eq!(response.text, "finishing");
    assert!(
        IpcClient::connect(address, ClientOptions::new(ECHO_PROTOCOL, "late"))
            .await
            .is_err(),
        "a stopped server accepts no connection"
    );
}

#[tokio::test]
async fn connect_to_a_closed_port_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = IpcClient::connect(address, ClientOptions::new(ECHO_PROTOCOL, "x"))
        .await
        .unwrap_err();
    assert!(matches!(error, IpcClientError::Connect { .. }), "{error:?}");
}

#[tokio::test]
async fn in_flight_limit_queues_further_calls_of_that_connection() {
    let server = start_server(spindle_ipc::ServerConfig {
        max_in_flight_calls_per_connection: 1,
        ..spindle_ipc::ServerConfig::default()
    })
    .await;
    let client = echo_client(server.local_addr(), "ivy").await;
    let started = Instant::now();
    let (one, two) = (echo("one", 200), echo("two", 200));
    let (first, second) = tokio::join!(
        client.call::<_, EchoResponse>("echo", &one),
        client.call::<_, EchoResponse>("echo", &two),
    );
    assert_eq!(
        (first.unwrap().text, second.unwrap().text),
        ("one".into(), "two".into())
    );
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "calls ran one after the other"
    );
    server.shutdown().await;
}
