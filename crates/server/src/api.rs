//! The HTTP API (docs/sync.md). Every request but `register` and `join` is signed by a device
//! of the team: `x-casebook-device`, `x-casebook-time` (Unix seconds) and `x-casebook-signature`
//! over `casebook_core::sync::request_message`. Errors are `{"error": {"code", "message"}}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use casebook_core::sync::{
    request_message, request_signed_by, token_verifier, InviteUpload, JoinRequest, JoinResponse, PullResponse,
    RegisterRequest, RevokeRequest, SealedBatch, TeamDevice, WrappedKey,
};
use data_encoding::BASE64;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio_postgres::Client;

/// A request's time may differ from the server's by this much (clock skew, slow links).
const REQUEST_WINDOW_SECS: i64 = 600;
const MAX_BODY: usize = 64 * 1024 * 1024;
const MAX_PULL: i64 = 500;

struct App {
    db: Mutex<Client>,
}

type Shared = Arc<App>;

pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn fail(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError { status, code, message: message.into() }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response()
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        // Database errors name tables and keys, never contents: the contents are ciphertext.
        eprintln!("casebook-server: database error: {e}");
        fail(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", "The server's database failed; try again later.")
    }
}

type Reply<T> = Result<T, ApiError>;

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    fail(StatusCode::BAD_REQUEST, code, message)
}

fn decode(text: &str, what: &str) -> Reply<Vec<u8>> {
    BASE64.decode(text.as_bytes()).map_err(|_| bad("invalid_request", format!("{what} is not base64")))
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Reply<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| fail(StatusCode::UNAUTHORIZED, "unsigned_request", format!("the request has no {name} header")))
}

/// The calling device and its signing key, after checking the request's signature and time.
async fn authenticate(
    db: &Client,
    team: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply<(String, String)> {
    let device = header(headers, "x-casebook-device")?.to_string();
    let time: i64 = header(headers, "x-casebook-time")?
        .parse()
        .map_err(|_| fail(StatusCode::UNAUTHORIZED, "unsigned_request", "x-casebook-time is not a number"))?;
    let signature = header(headers, "x-casebook-signature")?;
    if (now_secs() - time).abs() > REQUEST_WINDOW_SECS {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "request_expired",
            "The request's time is too far from the server's: check the device's clock.",
        ));
    }
    let row = db
        .query_opt(
            "SELECT signing_key, revoked_at IS NOT NULL FROM devices WHERE team = $1 AND device = $2",
            &[&team, &device],
        )
        .await?;
    let Some(row) = row else {
        return Err(fail(StatusCode::UNAUTHORIZED, "unknown_device", "This device is not enrolled in the team."));
    };
    let key: String = row.get(0);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or_else(|| uri.path());
    if !request_signed_by(&key, &request_message(method.as_str(), path, time, body), signature) {
        return Err(fail(StatusCode::UNAUTHORIZED, "bad_signature", "The request's signature is not the device's."));
    }
    if row.get::<_, bool>(1) {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "This device was removed from the team; the server accepts nothing from it.",
        ));
    }
    Ok((device, key))
}

/// A request signed by an enrolled, unrevoked device of the team in its path, with its body.
struct Signed {
    team: String,
    device: String,
    key: String,
    params: HashMap<String, String>,
    body: Bytes,
}

impl Signed {
    fn param(&self, name: &str) -> Reply<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| bad("invalid_request", format!("no {name} in the path")))
    }
}

impl FromRequest<Shared> for Signed {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &Shared) -> Reply<Signed> {
        let (mut parts, body) = request.into_parts();
        let Path(params): Path<HashMap<String, String>> =
            Path::from_request_parts(&mut parts, app).await.map_err(|e| bad("invalid_request", e.to_string()))?;
        let team = params.get("team").cloned().ok_or_else(|| bad("invalid_request", "no team in the path"))?;
        let (method, uri, headers) = (parts.method.clone(), parts.uri.clone(), parts.headers.clone());
        let body = Bytes::from_request(Request::from_parts(parts, body), app)
            .await
            .map_err(|e| fail(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", e.to_string()))?;
        let db = app.db.lock().await;
        let (device, key) = authenticate(&db, &team, &method, &uri, &headers, &body).await?;
        Ok(Signed { team, device, key, params, body })
    }
}

fn check_keys(signing_key: &str, recipient: &str) -> Reply<()> {
    casebook_core::identity::check_public_keys(Some(recipient), Some(signing_key))
        .map_err(|(field, problem)| bad("invalid_request", format!("{field}: {problem}")))
}

async fn register(State(app): State<Shared>, Path(team): Path<String>, body: Bytes) -> Reply<Json<serde_json::Value>> {
    let req: RegisterRequest = serde_json::from_slice(&body).map_err(|e| bad("invalid_request", e.to_string()))?;
    check_keys(&req.signing_key, &req.recipient)?;
    let mut db = app.db.lock().await;
    let tx = db.transaction().await?;
    let row = tx.query_opt("SELECT token_sha256 FROM teams WHERE id = $1 FOR UPDATE", &[&team]).await?;
    let Some(row) = row else {
        return Err(fail(StatusCode::NOT_FOUND, "unknown_team", "No such team on this server."));
    };
    let expected: Option<String> = row.get(0);
    if expected.as_deref() != Some(crate::db::sha256_hex(&req.token).as_str()) {
        return Err(fail(StatusCode::FORBIDDEN, "token_invalid", "The team's token is wrong or was already used."));
    }
    tx.execute(
        "INSERT INTO devices(team, device, signing_key, recipient) VALUES ($1, $2, $3, $4)",
        &[&team, &req.device, &req.signing_key, &req.recipient],
    )
    .await?;
    tx.execute("UPDATE teams SET token_sha256 = NULL WHERE id = $1", &[&team]).await?;
    tx.commit().await?;
    Ok(Json(json!({"device": req.device})))
}

async fn create_invite(State(app): State<Shared>, signed: Signed) -> Reply<Json<serde_json::Value>> {
    let (team, device) = (&signed.team, &signed.device);
    let db = app.db.lock().await;
    let req: InviteUpload = serde_json::from_slice(&signed.body).map_err(|e| bad("invalid_request", e.to_string()))?;
    let wrapped = decode(&req.wrapped, "wrapped")?;
    db.execute(
        "INSERT INTO invites(team, invite, verifier, wrapped, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, now() + interval '7 days')",
        &[&team, &req.invite, &req.verifier, &wrapped, &device],
    )
    .await?;
    Ok(Json(json!({"invite": req.invite, "expires_in_days": 7})))
}

async fn join(State(app): State<Shared>, Path(team): Path<String>, body: Bytes) -> Reply<Json<JoinResponse>> {
    let req: JoinRequest = serde_json::from_slice(&body).map_err(|e| bad("invalid_request", e.to_string()))?;
    check_keys(&req.signing_key, &req.recipient)?;
    let mut db = app.db.lock().await;
    let tx = db.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT verifier, wrapped, expires_at > now() FROM invites WHERE team = $1 AND invite = $2 FOR UPDATE",
            &[&team, &req.invite],
        )
        .await?;
    let refused =
        || fail(StatusCode::FORBIDDEN, "invite_invalid", "This invitation is unknown here or was already used.");
    let Some(row) = row else { return Err(refused()) };
    if row.get::<_, String>(0) != token_verifier(&req.token) {
        return Err(refused());
    }
    if !row.get::<_, bool>(2) {
        return Err(fail(StatusCode::FORBIDDEN, "invite_expired", "This invitation has expired; ask for a new one."));
    }
    let wrapped: Vec<u8> = row.get(1);
    let inserted = tx
        .execute(
            "INSERT INTO devices(team, device, signing_key, recipient) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&team, &req.device, &req.signing_key, &req.recipient],
        )
        .await?;
    if inserted == 0 {
        return Err(fail(StatusCode::CONFLICT, "device_exists", "This device is already in the team."));
    }
    tx.execute("DELETE FROM invites WHERE team = $1 AND invite = $2", &[&team, &req.invite]).await?;
    tx.commit().await?;
    Ok(Json(JoinResponse { wrapped: BASE64.encode(&wrapped) }))
}

async fn list_devices(db: &Client, team: &str) -> Reply<Vec<TeamDevice>> {
    let rows = db
        .query(
            "SELECT device, signing_key, recipient, to_char(enrolled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM devices WHERE team = $1 ORDER BY enrolled_at, device",
            &[&team],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let signing_key: String = r.get(1);
            let recipient: String = r.get(2);
            TeamDevice {
                device: r.get(0),
                fingerprint: casebook_core::identity::fingerprint(&recipient, &signing_key),
                signing_key,
                recipient,
                enrolled_at: r.get(3),
                revoked_at: r.get(4),
            }
        })
        .collect())
}

async fn devices(State(app): State<Shared>, signed: Signed) -> Reply<Json<Vec<TeamDevice>>> {
    let db = app.db.lock().await;
    Ok(Json(list_devices(&db, &signed.team).await?))
}

async fn revoke(State(app): State<Shared>, signed: Signed) -> Reply<Json<serde_json::Value>> {
    let (team, target) = (&signed.team, signed.param("device")?);
    let mut db = app.db.lock().await;
    let req: RevokeRequest = serde_json::from_slice(&signed.body).map_err(|e| bad("invalid_request", e.to_string()))?;
    let tx = db.transaction().await?;
    let n = tx
        .execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, now()) WHERE team = $1 AND device = $2",
            &[&team, &target],
        )
        .await?;
    if n == 0 {
        return Err(fail(StatusCode::NOT_FOUND, "unknown_device", "No such device in the team."));
    }
    for key in req.keys.iter().filter(|k| k.device != target) {
        let wrapped = decode(&key.wrapped, "wrapped")?;
        tx.execute(
            "INSERT INTO team_keys(team, device, epoch, wrapped) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&team, &key.device, &(key.epoch as i32), &wrapped],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Json(json!({"revoked": target})))
}

async fn keys(State(app): State<Shared>, signed: Signed) -> Reply<Json<Vec<WrappedKey>>> {
    let (team, device) = (&signed.team, &signed.device);
    let db = app.db.lock().await;
    let rows = db
        .query("SELECT epoch, wrapped FROM team_keys WHERE team = $1 AND device = $2 ORDER BY epoch", &[&team, &device])
        .await?;
    Ok(Json(
        rows.iter()
            .map(|r| WrappedKey {
                device: device.clone(),
                epoch: r.get::<_, i32>(0) as u32,
                wrapped: BASE64.encode(&r.get::<_, Vec<u8>>(1)),
            })
            .collect(),
    ))
}

/// One batch, or several of one device in order: a push of many is one transaction, all stored
/// or none.
#[derive(Deserialize)]
#[serde(untagged)]
enum Pushed {
    Many(Vec<SealedBatch>),
    One(SealedBatch),
}

async fn push(State(app): State<Shared>, signed: Signed) -> Reply<Json<serde_json::Value>> {
    let (team, device, key) = (&signed.team, &signed.device, &signed.key);
    let mut db = app.db.lock().await;
    let batches = match serde_json::from_slice(&signed.body).map_err(|e| bad("invalid_batch", e.to_string()))? {
        Pushed::Many(batches) => batches,
        Pushed::One(batch) => vec![batch],
    };
    let tx = db.transaction().await?;
    let last = tx
        .query_opt(
            "SELECT seq, hash FROM batches WHERE team = $1 AND device = $2 ORDER BY seq DESC LIMIT 1",
            &[&team, &device],
        )
        .await?;
    let (mut last_seq, mut last_hash): (i64, String) = last.map(|r| (r.get(0), r.get(1))).unwrap_or((0, String::new()));
    let insert = tx
        .prepare("INSERT INTO batches(team, device, seq, prev, hash, epoch, nonce, ciphertext, signature, size) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .await?;
    for batch in &batches {
        if batch.team != *team || batch.device != *device {
            return Err(bad("invalid_batch", "The batch names another team or device than the request."));
        }
        if !batch.signed_by(key) {
            return Err(fail(
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                "The batch is not signed by the device that sends it.",
            ));
        }
        let nonce = decode(&batch.nonce, "nonce")?;
        let ciphertext = decode(&batch.ciphertext, "ciphertext")?;
        let signature = decode(&batch.signature, "signature")?;
        let hash = batch.hash();
        let seq = batch.seq as i64;
        if seq <= last_seq {
            let stored: String = tx
                .query_one(
                    "SELECT hash FROM batches WHERE team = $1 AND device = $2 AND seq = $3",
                    &[&team, &device, &seq],
                )
                .await?
                .get(0);
            if stored == hash {
                return Err(fail(
                    StatusCode::CONFLICT,
                    "batch_replayed",
                    format!("Batch {seq} is already stored; it was not stored again."),
                ));
            }
            return Err(fail(
                StatusCode::CONFLICT,
                "batch_fork",
                format!("Another batch {seq} of this device is already stored."),
            ));
        }
        if seq != last_seq + 1 {
            return Err(fail(
                StatusCode::CONFLICT,
                "batch_gap",
                format!("The server expects batch {} of this device, not {seq}.", last_seq + 1),
            ));
        }
        if batch.prev != last_hash {
            return Err(fail(StatusCode::CONFLICT, "batch_fork", "The batch does not continue this device's chain."));
        }
        tx.execute(
            &insert,
            &[
                &team,
                &device,
                &seq,
                &batch.prev,
                &hash,
                &(batch.epoch as i32),
                &nonce,
                &ciphertext,
                &signature,
                &(ciphertext.len() as i32),
            ],
        )
        .await?;
        (last_seq, last_hash) = (seq, hash);
    }
    tx.commit().await?;
    Ok(Json(json!({"seq": last_seq})))
}

#[derive(Deserialize)]
struct PullQuery {
    #[serde(default)]
    after: String,
    limit: Option<i64>,
}

async fn pull(State(app): State<Shared>, Query(query): Query<PullQuery>, signed: Signed) -> Reply<Json<PullResponse>> {
    let (team, device) = (&signed.team, &signed.device);
    let db = app.db.lock().await;
    let mut after: BTreeMap<String, i64> = BTreeMap::new();
    for part in query.after.split(',').filter(|p| !p.is_empty()) {
        let (d, s) = part.split_once(':').ok_or_else(|| bad("invalid_request", "after is device:seq,…"))?;
        after.insert(d.to_string(), s.parse().map_err(|_| bad("invalid_request", "after is device:seq,…"))?);
    }
    let limit = query.limit.unwrap_or(MAX_PULL).clamp(1, MAX_PULL);
    let after = serde_json::to_string(&after).map_err(|e| bad("invalid_request", e.to_string()))?;
    let rows = db
        .query(
            "SELECT device, seq, prev, epoch, nonce, ciphertext, signature FROM batches
             WHERE team = $1 AND device <> $2 AND seq > coalesce((($3::text)::jsonb ->> device)::bigint, 0)
             ORDER BY id LIMIT $4",
            &[&team, &device, &after, &limit],
        )
        .await?;
    let batches: Vec<SealedBatch> = rows
        .iter()
        .map(|r| SealedBatch {
            team: team.clone(),
            device: r.get(0),
            seq: r.get::<_, i64>(1) as u64,
            prev: r.get(2),
            epoch: r.get::<_, i32>(3) as u32,
            nonce: BASE64.encode(&r.get::<_, Vec<u8>>(4)),
            ciphertext: BASE64.encode(&r.get::<_, Vec<u8>>(5)),
            signature: BASE64.encode(&r.get::<_, Vec<u8>>(6)),
        })
        .collect();
    let more = batches.len() as i64 == limit;
    Ok(Json(PullResponse { batches, more }))
}

fn check_address(address: &str) -> Reply<()> {
    if address.len() == 64 && address.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(bad("invalid_request", "a chunk address is 64 hex digits"))
    }
}

async fn put_chunk(State(app): State<Shared>, signed: Signed) -> Reply<Json<serde_json::Value>> {
    let (team, address, body) = (&signed.team, signed.param("address")?, &signed.body);
    check_address(address)?;
    let db = app.db.lock().await;
    db.execute(
        "INSERT INTO chunks(team, address, content, size) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&team, &address, &body.as_ref(), &(body.len() as i32)],
    )
    .await?;
    Ok(Json(json!({"address": address})))
}

async fn get_chunk(State(app): State<Shared>, signed: Signed) -> Reply<Vec<u8>> {
    let (team, address) = (&signed.team, signed.param("address")?);
    check_address(address)?;
    let db = app.db.lock().await;
    let row = db.query_opt("SELECT content FROM chunks WHERE team = $1 AND address = $2", &[&team, &address]).await?;
    row.map(|r| r.get(0)).ok_or_else(|| fail(StatusCode::NOT_FOUND, "chunk_missing", "No such chunk on the server."))
}

/// One line per request: method, path, status, time. Never a header or a body.
async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let line = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    eprintln!("{line} {} {}ms", response.status().as_u16(), started.elapsed().as_millis());
    response
}

pub async fn serve<L>(listener: L, client: Client) -> Result<(), String>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let app: Shared = Arc::new(App { db: Mutex::new(client) });
    let router = Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/teams/{team}/register", post(register))
        .route("/v1/teams/{team}/join", post(join))
        .route("/v1/teams/{team}/invites", post(create_invite))
        .route("/v1/teams/{team}/devices", get(devices))
        .route("/v1/teams/{team}/devices/{device}/revoke", post(revoke))
        .route("/v1/teams/{team}/keys", get(keys))
        .route("/v1/teams/{team}/batches", post(push).get(pull))
        .route("/v1/teams/{team}/chunks/{address}", put(put_chunk).get(get_chunk))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(log))
        .with_state(app);
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("the server stopped: {e}"))?;
    // Let the database connection finish what it was writing.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}
