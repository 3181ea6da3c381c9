// Drives coupler's Dataverse simulator with the genuine npm client
// dynamics-web-api (2.5.0), exactly as a Node.js integration would drive the
// real Dynamics 365 Web API. Run by internal/dataverse's TestCompatDynamicsWebApi:
//
//   DATAVERSE_URL      organisation URL (the Web API is at {url}/api/data/v9.2/)
//   DATAVERSE_TOKEN_URL, DATAVERSE_CLIENT_ID, DATAVERSE_CLIENT_SECRET
//                      OAuth 2.0 client credentials for onTokenRefresh
//
// Any failed check throws; the process then exits non-zero with the reason.
"use strict";

const assert = require("node:assert/strict");
const { DynamicsWebApi } = require("dynamics-web-api");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
};
const orgUrl = env("DATAVERSE_URL");
const tokenUrl = env("DATAVERSE_TOKEN_URL");
const clientId = env("DATAVERSE_CLIENT_ID");
const clientSecret = env("DATAVERSE_CLIENT_SECRET");

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// onTokenRefresh: a client-credentials grant, what MSAL would do for a daemon.
let tokenCalls = 0;
async function acquireToken() {
  tokenCalls++;
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: clientSecret,
    scope: orgUrl.replace(/\/$/, "") + "/.default",
  });
  const res = await fetch(tokenUrl, { method: "POST", body });
  const json = await res.json();
  if (!res.ok) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(json)}`);
  return json.access_token;
}

const api = new DynamicsWebApi({
  serverUrl: orgUrl.endsWith("/") ? orgUrl : orgUrl + "/",
  onTokenRefresh: acquireToken,
  propagateErrors: true, // throw on 412 instead of returning false
});

const steps = [];
const step = (name, fn) => steps.push({ name, fn });
const run = `compat${Date.now().toString(36)}`;
const state = {};

step("WhoAmI", async () => {
  const who = await api.callFunction("WhoAmI");
  assert.match(who.UserId, GUID, "WhoAmI.UserId");
  assert.match(who.BusinessUnitId, GUID, "WhoAmI.BusinessUnitId");
  assert.match(who.OrganizationId, GUID, "WhoAmI.OrganizationId");
  state.userId = who.UserId;
});

step("create", async () => {
  const id = await api.create({ collection: "accounts", data: { name: `${run} Fabrikam`, telephone1: "555-0100" } });
  assert.match(id, GUID, "create returns the new id from OData-EntityId");
  state.accountId = id;
});

step("create with return=representation", async () => {
  const rec = await api.create({ collection: "accounts", data: { name: `${run} Litware` }, returnRepresentation: true, select: ["name", "accountid"] });
  assert.equal(rec.name, `${run} Litware`);
  assert.match(rec.accountid, GUID);
});

step("retrieve", async () => {
  const rec = await api.retrieve({ collection: "accounts", key: state.accountId, select: ["name", "telephone1"] });
  assert.equal(rec.name, `${run} Fabrikam`);
  assert.equal(rec.telephone1, "555-0100");
  assert.equal(rec.accountid, state.accountId, "the primary key is always returned");
  assert.ok(rec["@odata.etag"], "the record carries @odata.etag");
  state.etag = rec["@odata.etag"];
});

step("update with ETag", async () => {
  await api.update({ collection: "accounts", key: state.accountId, data: { telephone1: "555-0199" }, ifmatch: state.etag });
  const rec = await api.retrieve({ collection: "accounts", key: state.accountId, select: ["telephone1"] });
  assert.equal(rec.telephone1, "555-0199");
  assert.notEqual(rec["@odata.etag"], state.etag, "an update changes the ETag");
  // The old ETag is now stale: 412.
  await assert.rejects(
    api.update({ collection: "accounts", key: state.accountId, data: { telephone1: "555-0000" }, ifmatch: state.etag }),
    (err) => err.status === 412,
    "a stale If-Match must answer 412",
  );
});

step("upsert", async () => {
  const id = "5a8e3f10-0b7c-4d2e-9f61-" + Date.now().toString(16).padStart(12, "0").slice(-12);
  await api.upsert({ collection: "accounts", key: id, data: { name: `${run} Upserted` } });
  let rec = await api.retrieve({ collection: "accounts", key: id, select: ["name"] });
  assert.equal(rec.name, `${run} Upserted`, "upsert creates a missing record");
  await api.upsert({ collection: "accounts", key: id, data: { name: `${run} Upserted again` } });
  rec = await api.retrieve({ collection: "accounts", key: id, select: ["name"] });
  assert.equal(rec.name, `${run} Upserted again`, "upsert updates an existing record");
});

step("paged retrieve-all", async () => {
  for (let i = 0; i < 7; i++) {
    await api.create({ collection: "accounts", data: { name: `${run} Page ${i}` } });
  }
  const filter = `startswith(name,'${run} Page')`;
  const first = await api.retrieveMultiple({ collection: "accounts", select: ["name"], filter, maxPageSize: 3 });
  assert.equal(first.value.length, 3, "maxPageSize=3 gives pages of 3");
  assert.ok(first.oDataNextLink, "a first page of a larger set has @odata.nextLink");
  const all = await api.retrieveAll({ collection: "accounts", select: ["name"], filter, maxPageSize: 3 });
  const names = all.value.map((r) => r.name).sort();
  assert.deepEqual(names, [0, 1, 2, 3, 4, 5, 6].map((i) => `${run} Page ${i}`), "retrieveAll follows every nextLink");
});

step("count", async () => {
  const filter = `startswith(name,'${run} Page')`;
  assert.equal(await api.count({ collection: "accounts", filter }), 7, "$count=true with a filter");
  assert.equal(await api.countAll({ collection: "accounts", filter, select: ["accountid"] }), 7, "countAll over pages");
  const total = await api.count({ collection: "accounts" });
  assert.ok(Number.isInteger(total) && total >= 10, `accounts/$count is a number ≥ 10, got ${total}`);
});

step("batch with a change set", async () => {
  api.startBatch();
  api.create({ collection: "accounts", contentId: "1", data: { name: `${run} Batch Parent` } });
  api.create({
    collection: "contacts",
    data: { firstname: "Batch", lastname: `${run} Child`, "parentcustomerid_account@odata.bind": "$1" },
  });
  api.retrieveMultiple({ collection: "accounts", select: ["name"], filter: `name eq '${run} Fabrikam'` });
  const results = await api.executeBatch();
  assert.equal(results.length, 3, "one result per request");
  assert.match(results[0], GUID, "created account id");
  assert.match(results[1], GUID, "created contact id");
  assert.equal(results[2].value.length, 1, "the GET outside the change set ran");
  const contact = await api.retrieve({ collection: "contacts", key: results[1], select: ["lastname", "_parentcustomerid_value"] });
  assert.equal(contact._parentcustomerid_value, results[0], "the $1 reference bound the new account");
});

step("batch change set is atomic", async () => {
  api.startBatch();
  api.create({ collection: "accounts", data: { name: `${run} Atomic` } });
  api.update({ collection: "accounts", key: "00000000-0000-0000-0000-00000000dead", data: { name: "x" }, ifmatch: "*" });
  // Real Dataverse answers the failed change set with one error part; the
  // library either rejects or returns that error in the results.
  let outcome;
  try {
    outcome = await api.executeBatch();
  } catch (err) {
    outcome = [err];
  }
  assert.ok(
    outcome.flat(2).some((r) => r instanceof Error || (r && r.status >= 400)),
    `a failing change set reports an error, got ${JSON.stringify(outcome)}`,
  );
  const left = await api.retrieveMultiple({ collection: "accounts", select: ["name"], filter: `name eq '${run} Atomic'` });
  assert.equal(left.value.length, 0, "the change set was rolled back");
});

step("associate", async () => {
  const expandRoles = { property: "systemuserroles_association", select: ["roleid"] };
  const heldRoles = async () => {
    const user = await api.retrieve({ collection: "systemusers", key: state.userId, select: ["systemuserid"], expand: [expandRoles] });
    return (user.systemuserroles_association || []).map((r) => r.roleid);
  };
  const held = await heldRoles();
  const roles = await api.retrieveMultiple({ collection: "roles", select: ["roleid", "name"] });
  const role = roles.value.find((r) => !held.includes(r.roleid));
  assert.ok(role, `the simulator has a role the user does not hold yet (holds ${held.length} of ${roles.value.length})`);
  await api.associate({
    collection: "systemusers",
    primaryKey: state.userId,
    relationshipName: "systemuserroles_association",
    relatedCollection: "roles",
    relatedKey: role.roleid,
  });
  const now = await heldRoles();
  assert.ok(now.includes(role.roleid), `the user now holds role ${role.name}; got ${JSON.stringify(now)}`);
});

step("not found", async () => {
  await assert.rejects(
    api.retrieve({ collection: "accounts", key: "00000000-0000-0000-0000-00000000beef" }),
    (err) => err.status === 404,
  );
});

(async () => {
  let failed = 0;
  for (const s of steps) {
    try {
      await s.fn();
      console.log(`ok   ${s.name}`);
    } catch (err) {
      failed++;
      const detail = err && err.status ? ` (HTTP ${err.status} ${err.code || ""} ${err.message})` : "";
      console.log(`FAIL ${s.name}: ${err && err.stack ? err.stack : err}${detail}`);
    }
  }
  assert.ok(tokenCalls >= 1, "onTokenRefresh was called");
  console.log(`${steps.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
