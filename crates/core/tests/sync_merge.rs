//! Merge laws of team sync, without a server: devices exchange sealed batches directly.
//! Applying the same batches in any interleaving gives the same vault, applying a batch twice
//! changes nothing, and every concurrent edit of one field is listed as a conflict.

use std::collections::BTreeSet;
use std::path::Path;

use casebook_core::generate::Rng;
use casebook_core::sync::{SealedBatch, TeamConfig, TeamDevice};
use casebook_core::{KdfParams, Kind, Passphrase, Vault};
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

fn vault(dir: &Path) -> Vault {
    let passphrase = Passphrase::new("merge law passphrase".into());
    Vault::create(dir, &passphrase, KdfParams::with_memory_mib(8, 1).expect("kdf")).expect("vault").0
}

fn device(v: &mut Vault) -> TeamDevice {
    let card = v.identity().expect("identity");
    TeamDevice {
        device: v.device_id().to_string(),
        signing_key: card.signing_key,
        recipient: card.recipient,
        fingerprint: card.fingerprint,
        enrolled_at: String::new(),
        revoked_at: None,
    }
}

struct Team {
    _root: tempfile::TempDir,
    vaults: Vec<Vault>,
    devices: Vec<TeamDevice>,
    root: std::path::PathBuf,
}

impl Team {
    fn new(size: usize) -> Team {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().to_path_buf();
        let mut first = vault(&path.join("d0"));
        let config = TeamConfig { server: "http://127.0.0.1:9".into(), team: "team-1".into(), cert_sha256: None };
        first.create_team(&config).expect("create team");
        let mut team = Team { _root: root, vaults: vec![first], devices: Vec::new(), root: path };
        for _ in 1..size {
            team.join();
        }
        team
    }

    fn join(&mut self) -> usize {
        let (invitation, upload) = self.vaults[0].invite().expect("invite");
        let mut v = vault(&self.root.join(format!("d{}", self.vaults.len())));
        v.join_team(&invitation, &upload.wrapped).expect("join");
        self.vaults.push(v);
        self.devices = self.vaults.iter_mut().map(device).collect();
        self.vaults.len() - 1
    }
}

fn ids(v: &Vault, kind: Kind) -> Vec<Uuid> {
    v.all_records().expect("records").into_iter().filter(|r| r.kind == kind).map(|r| r.id).collect()
}

/// One random edit; refusals (a record in use, one deleted meanwhile) are part of the workload.
fn edit(v: &mut Vault, rng: &mut Rng, who: usize, n: usize) {
    let cases = ids(v, Kind::Case);
    let people = ids(v, Kind::Person);
    let pick = |rng: &mut Rng, list: &[Uuid]| (!list.is_empty()).then(|| list[rng.index(list.len())]);
    let _ = match rng.index(8) {
        0 => v.add(Kind::Person, json!({"names": [{"value": format!("Person {who}-{n}")}]})).map(|_| ()),
        1 => v
            .add(Kind::Case, json!({"title": format!("Case {who}-{n}"), "case_kind": "criminal", "status": "open"}))
            .map(|_| ()),
        2 | 3 => match pick(rng, &cases) {
            Some(c) => v
                .patch(c, json!({"title": format!("Title {who}-{n}")}).as_object().cloned().unwrap_or_default())
                .map(|_| ()),
            None => Ok(()),
        },
        4 => match pick(rng, &cases) {
            Some(c) => v
                .patch(c, json!({"summary": format!("Summary {who}-{n}")}).as_object().cloned().unwrap_or_default())
                .map(|_| ()),
            None => Ok(()),
        },
        5 => match (pick(rng, &cases), pick(rng, &people)) {
            (Some(c), Some(p)) => v.link(p, c, Some("defendant")).map(|_| ()),
            _ => Ok(()),
        },
        6 => match pick(rng, &people) {
            Some(p) => v.delete(p),
            None => Ok(()),
        },
        _ => match pick(rng, &cases) {
            Some(c) => v.delete(c),
            None => Ok(()),
        },
    };
}

fn seal(v: &mut Vault, pool: &mut Vec<SealedBatch>) {
    v.seal().expect("seal");
    for b in v.unsent().expect("unsent") {
        v.mark_sent(b.seq).expect("mark");
        pool.push(b);
    }
}

fn conflicts(v: &Vault) -> BTreeSet<String> {
    v.sync_conflicts()
        .expect("conflicts")
        .into_iter()
        .map(|c| {
            let hlcs: BTreeSet<String> = c.versions.iter().map(|v| v.hlc.clone()).collect();
            format!("{} {} {:?}", c.record, c.field, hlcs)
        })
        .collect()
}

/// Three devices edit for a few rounds, exchanging batches at random points.
fn workload(seed: u64, team: &mut Team) -> Vec<SealedBatch> {
    let mut rng = Rng(seed | 1);
    let mut pool = Vec::new();
    for round in 0..6 {
        for who in 0..3 {
            for n in 0..12 {
                edit(&mut team.vaults[who], &mut rng, who, round * 100 + n);
            }
            seal(&mut team.vaults[who], &mut pool);
            if rng.index(2) == 0 {
                let devices = team.devices.clone();
                team.vaults[who].apply(&pool, &devices).expect("apply");
            }
        }
    }
    pool
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    #[test]
    fn any_interleaving_of_the_same_batches_gives_the_same_vault(seed in any::<u64>(), order in any::<u64>()) {
        let mut team = Team::new(3);
        let pool = workload(seed, &mut team);
        let devices = team.devices.clone();
        for v in team.vaults.iter_mut() {
            v.apply(&pool, &devices).expect("final apply");
        }
        let reference = team.vaults[0].export_text().expect("export");
        for v in &team.vaults[1..] {
            prop_assert_eq!(&v.export_text().expect("export"), &reference);
        }
        let listed = conflicts(&team.vaults[0]);
        eprintln!("seed {seed}: {} batches, {} records, {} conflicts", pool.len(), team.vaults[0].all_records().expect("records").len(), listed.len());
        for v in &team.vaults[1..] {
            prop_assert_eq!(&conflicts(v), &listed);
        }

        // A new device fed the batches one at a time in a random order ends the same.
        let late = team.join();
        let devices = team.devices.clone();
        let mut shuffled = pool.clone();
        let mut rng = Rng(order | 1);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.index(i + 1));
        }
        let mut rounds = 0;
        while team.vaults[late].sync_vector().expect("vector").values().sum::<u64>() < pool.len() as u64 {
            for b in &shuffled {
                team.vaults[late].apply(std::slice::from_ref(b), &devices).expect("apply one");
            }
            rounds += 1;
            prop_assert!(rounds <= pool.len(), "batches never became applicable");
        }
        prop_assert_eq!(&team.vaults[late].export_text().expect("export"), &reference);
        prop_assert_eq!(&conflicts(&team.vaults[late]), &listed);

        // Applying everything again changes nothing.
        let report = team.vaults[late].apply(&pool, &devices).expect("again");
        prop_assert_eq!(report.batches, 0);
        prop_assert_eq!(report.duplicates as usize, pool.len());
        prop_assert_eq!(&team.vaults[late].export_text().expect("export"), &reference);
    }
}

#[test]
fn concurrent_edits_of_one_field_are_listed_and_settled_everywhere() {
    let mut team = Team::new(2);
    let case = team.vaults[0]
        .add(Kind::Case, json!({"title": "Zhylanbaev", "case_kind": "criminal", "status": "open"}))
        .expect("case")
        .id;
    let mut pool = Vec::new();
    seal(&mut team.vaults[0], &mut pool);
    let devices = team.devices.clone();
    team.vaults[1].apply(&pool, &devices).expect("apply");
    for (i, title) in ["Жыланбаев", "Zhylanbayev"].iter().enumerate() {
        let fields = json!({"title": title}).as_object().cloned().unwrap_or_default();
        team.vaults[i].patch(case, fields).expect("edit");
        seal(&mut team.vaults[i], &mut pool);
    }
    for v in team.vaults.iter_mut() {
        v.apply(&pool, &devices).expect("apply");
    }
    let a = team.vaults[0].sync_conflicts().expect("conflicts");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].field, "title");
    let values: BTreeSet<String> =
        a[0].versions.iter().map(|v| v.value.as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(values, ["Zhylanbayev", "Жыланбаев"].into_iter().map(String::from).collect());
    assert_eq!(team.vaults[0].get(case).expect("case").label(), team.vaults[1].get(case).expect("case").label());

    // Device 1 keeps the Cyrillic spelling; device 0 learns the decision and lists nothing more.
    let cyrillic = a[0].versions.iter().find(|v| v.value == json!("Жыланбаев")).expect("version").hlc.clone();
    team.vaults[1].resolve_sync_conflict(case, "title", &cyrillic).expect("resolve");
    seal(&mut team.vaults[1], &mut pool);
    team.vaults[0].apply(&pool, &devices).expect("apply");
    for v in &team.vaults {
        assert!(v.sync_conflicts().expect("conflicts").is_empty());
        assert_eq!(v.get(case).expect("case").body.to_json()["title"], json!("Жыланбаев"));
    }
    assert_eq!(team.vaults[0].export_text().expect("export"), team.vaults[1].export_text().expect("export"));
}

#[test]
fn a_batch_with_a_flipped_byte_or_a_stranger_s_signature_changes_nothing() {
    let mut team = Team::new(2);
    team.vaults[0].add(Kind::Person, json!({"names": [{"value": "Canary Person"}]})).expect("person");
    let mut pool = Vec::new();
    seal(&mut team.vaults[0], &mut pool);
    let devices = team.devices.clone();
    let before = team.vaults[1].export_text().expect("export");

    let mut flipped = pool[0].clone();
    let mut bytes = flipped.ciphertext.into_bytes();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    flipped.ciphertext = String::from_utf8(bytes).expect("ascii");
    let err = team.vaults[1].apply(&[flipped], &devices).expect_err("tampered");
    assert_eq!(err.code(), "sync_batch_tampered");

    let mut stranger = team.devices.clone();
    stranger[0].signing_key = device(&mut vault(&team.root.join("stranger"))).signing_key;
    let err = team.vaults[1].apply(&pool, &stranger).expect_err("unknown key");
    assert_eq!(err.code(), "sync_batch_tampered");
    assert_eq!(team.vaults[1].export_text().expect("export"), before);

    team.vaults[1].apply(&pool, &devices).expect("genuine");
    assert_ne!(team.vaults[1].export_text().expect("export"), before);
}

#[test]
fn the_same_new_term_added_on_two_devices_leaves_one_everywhere() {
    let mut team = Team::new(2);
    let mut pool = Vec::new();
    for (i, label) in ["Hunger strike (A)", "Hunger strike (B)"].iter().enumerate() {
        let term = json!({"vocabulary": "event_type", "code": "dry_hunger_strike", "labels": {"en": label}});
        team.vaults[i].add(Kind::Term, term).expect("term");
        seal(&mut team.vaults[i], &mut pool);
    }
    let devices = team.devices.clone();
    for v in team.vaults.iter_mut() {
        v.apply(&pool, &devices).expect("apply");
    }
    let count = |v: &Vault| {
        v.all_records()
            .expect("records")
            .into_iter()
            .filter(|r| r.kind == Kind::Term && r.body.to_json()["code"] == json!("dry_hunger_strike"))
            .count()
    };
    assert_eq!((count(&team.vaults[0]), count(&team.vaults[1])), (1, 1));
    assert_eq!(team.vaults[0].export_text().expect("export"), team.vaults[1].export_text().expect("export"));
    // Events can use the code on both devices.
    for v in team.vaults.iter_mut() {
        let event = json!({"title": "Protest in SIZO", "event_type": "dry_hunger_strike", "date": "2026-12-01"});
        v.add(Kind::Event, event).expect("event with the merged code");
    }
}

/// Device 0 links a person to a case while device 1, not having seen the link, deletes the person.
fn link_against_delete(team: &mut Team, pool: &mut Vec<SealedBatch>, name: &str) -> (Uuid, Uuid) {
    let devices = team.devices.clone();
    let person = team.vaults[0].add(Kind::Person, json!({"names": [{"value": name}]})).expect("person").id;
    let case = team.vaults[0]
        .add(Kind::Case, json!({"title": format!("Case of {name}"), "case_kind": "criminal", "status": "open"}))
        .expect("case")
        .id;
    seal(&mut team.vaults[0], pool);
    team.vaults[1].apply(pool, &devices).expect("apply");
    team.vaults[0].link(person, case, Some("defendant")).expect("link");
    team.vaults[1].delete(person).expect("delete");
    for who in 0..2 {
        seal(&mut team.vaults[who], pool);
    }
    // Device 1 applies in the other order from device 0: link before delete, delete before link.
    for v in team.vaults.iter_mut() {
        v.apply(pool, &devices).expect("apply");
    }
    (person, case)
}

#[test]
fn a_link_to_a_record_deleted_meanwhile_is_listed_and_settled_either_way() {
    let mut team = Team::new(2);
    let mut pool = Vec::new();
    let devices = team.devices.clone();
    let (kept, kept_case) = link_against_delete(&mut team, &mut pool, "Zhylanbaev");
    let (removed, removed_case) = link_against_delete(&mut team, &mut pool, "Ermekov");
    for v in &team.vaults {
        let listed: Vec<_> = v.sync_conflicts().expect("conflicts").into_iter().map(|c| (c.record, c.field)).collect();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert!(
            listed.contains(&(kept_case, "participants".into()))
                && listed.contains(&(removed_case, "participants".into()))
        );
        assert!(v.get(kept).is_err(), "the delete applies until someone decides");
    }
    assert_eq!(conflicts(&team.vaults[0]), conflicts(&team.vaults[1]));
    assert_eq!(team.vaults[0].export_text().expect("export"), team.vaults[1].export_text().expect("export"));

    // Device 1 keeps one link (the person comes back) and removes the other.
    let conflicts_now = team.vaults[1].sync_conflicts().expect("conflicts");
    for (case, keep) in [(kept_case, true), (removed_case, false)] {
        let c = conflicts_now.iter().find(|c| c.record == case).expect("conflict");
        let choice = c.versions.iter().find(|v| v.value.get("deleted").is_none() == keep).expect("version");
        team.vaults[1].resolve_sync_conflict(case, "participants", &choice.hlc).expect("settle");
    }
    seal(&mut team.vaults[1], &mut pool);
    team.vaults[0].apply(&pool, &devices).expect("apply");
    for v in &team.vaults {
        assert!(v.sync_conflicts().expect("conflicts").is_empty());
        assert_eq!(v.get(kept).expect("restored").label(), "Zhylanbaev");
        assert!(v.get(removed).is_err());
        let people = |case| v.get(case).expect("case").body.to_json()["participants"].to_string();
        assert!(people(kept_case).contains(&kept.to_string()));
        assert!(!people(removed_case).contains(&removed.to_string()));
        assert!(v.check().expect("check").ok);
    }
    assert_eq!(team.vaults[0].export_text().expect("export"), team.vaults[1].export_text().expect("export"));
}
