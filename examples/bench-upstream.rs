//! A provider API for `bench/run`'s proxy part: `GET /item` answers a small JSON body,
//! `GET /big?mb=N` streams N MiB. Prints `READY <port>` once listening on 127.0.0.1.
//! Usage: bench-upstream [PORT] (0 or none: a free port).

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

async fn item() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(
        r#"{"id":"item_1","name":"An item","tags":["a","b"],"updated":"2026-12-01T00:00:00Z"}"#,
    )
}

async fn big(req: HttpRequest) -> HttpResponse {
    let mb: u64 = req
        .query_string()
        .strip_prefix("mb=")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let chunk = web::Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures_util::stream::iter(
        (0..mb * 16).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .no_chunking(mb * 1024 * 1024)
        .streaming(stream)
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| {
            App::new()
                .route("/item", web::get().to(item))
                .route("/big", web::get().to(big))
        })
        .workers(1)
        .bind(("127.0.0.1", port))?;
        let bound = server.addrs()[0].port();
        println!("READY {bound}");
        server.run().await
    })
}
