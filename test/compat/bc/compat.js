// Drives coupler's Business Central simulator with @odata/client (a genuine
// third-party OData v4 client from npm) to check that a client written
// against the OData standard, not against the simulator, works with it:
// list with filter and paging, create, update with ETag, JSON $batch.
//
// Configuration comes from the environment (the Go test compat_test.go sets it):
//   BC_API_URL        API root, e.g. http://127.0.0.1:P/v2.0/{tenant}/{env}/api/v2.0
//   BC_COMPANY_ID     company GUID
//   BC_TOKEN_URL      OAuth token endpoint
//   BC_CLIENT_ID, BC_CLIENT_SECRET, BC_SCOPE
//
// Prints one "ok <check>" line per check; exits 1 at the first failure.
"use strict";

const assert = require("node:assert/strict");
const { OData, Guid } = require("@odata/client");

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return v;
}

const api = env("BC_API_URL").replace(/\/$/, "");
const companyId = env("BC_COMPANY_ID");
// @odata/client 2.21.10 writes the token request form without encoding its
// values (util.js SearchParams), so a secret holding '+', '/' or '=' arrives
// mangled; we hand it values already form-encoded.
const credential = {
  tokenUrl: env("BC_TOKEN_URL"),
  clientId: encodeURIComponent(env("BC_CLIENT_ID")),
  clientSecret: encodeURIComponent(env("BC_CLIENT_SECRET")),
  tokenRetrieveType: "form",
  scope: encodeURIComponent(env("BC_SCOPE")),
};
const companyEndpoint = `${api}/companies(${companyId})/`;

// One client per header set: @odata/client sends commonHeaders on every
// request, which is how it passes If-Match, Prefer and Isolation.
function client(headers = {}, endpoint = companyEndpoint) {
  return OData.New4({ serviceEndpoint: endpoint, credential, commonHeaders: headers });
}

async function expectServerError(promise, pattern, what) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: expected an error, got success`);
  assert.match(String(err.message), pattern, `${what}: unexpected error ${err.message}`);
}

function ok(name) {
  console.log(`ok ${name}`);
}

async function main() {
  const c = client();
  const customers = c.getEntitySet("customers");

  // --- list with filter
  const adatum = await customers.query(c.newOptions().filter(c.newFilter().field("number").eqString("10000")));
  assert.equal(adatum.length, 1, "filter number eq '10000' returns one customer");
  assert.equal(adatum[0].displayName, "Adatum Corporation");
  assert.match(adatum[0]["@odata.etag"], /^W\/"/, "records carry a weak @odata.etag");
  ok("list with $filter");

  // --- client-driven paging ($orderby/$top/$skip) and $count
  const total = await customers.count();
  assert.ok(Number.isInteger(total) && total >= 5, `$count gives the number of customers (${total})`);
  const seen = new Set();
  for (let skip = 0; skip < total; skip += 2) {
    const page = await customers.query(c.newOptions().orderby("number").top(2).skip(skip));
    assert.ok(page.length >= 1 && page.length <= 2, `page at skip ${skip} has 1..2 records`);
    for (const r of page) {
      assert.ok(!seen.has(r.id), `record ${r.number} appears once across $skip pages`);
      seen.add(r.id);
    }
  }
  assert.equal(seen.size, total, "$top/$skip pages cover every customer");
  ok("paging with $top/$skip/$orderby and $count");

  // --- server-driven paging: Prefer: odata.maxpagesize, then @odata.nextLink.
  // @odata.client returns the raw collection from newRequest; it does not
  // follow nextLink itself, so the links are fetched with the same token.
  const paged = client({ Prefer: "odata.maxpagesize=2" });
  let resp = await paged.newRequest({ collection: "customers", method: "GET", params: paged.newOptions() });
  let count = resp.value.length;
  let pages = 1;
  const token = await OData.New4({ serviceEndpoint: companyEndpoint, credential }).getHeaders();
  while (resp["@odata.nextLink"]) {
    assert.ok(resp.value.length <= 2, "a page honours odata.maxpagesize");
    const r = await fetch(resp["@odata.nextLink"], { headers: { ...token, Prefer: "odata.maxpagesize=2" } });
    assert.equal(r.status, 200, "following @odata.nextLink succeeds");
    resp = await r.json();
    count += resp.value.length;
    pages++;
    assert.ok(pages <= total + 1, "paging terminates");
  }
  assert.equal(count, total, "server-driven pages cover every customer");
  assert.ok(pages > 1, "more than one page with odata.maxpagesize=2");
  ok(`server-driven paging (${pages} pages via @odata.nextLink)`);

  // --- create
  const suffix = String(Date.now()).slice(-6);
  const created = await customers.create({ displayName: `Compat Test ${suffix}`, email: `compat${suffix}@example.com` });
  assert.match(created.id, /^[0-9a-f-]{36}$/, "create returns the new record with its id");
  assert.ok(created.number, "the server assigns a number");
  assert.ok(created["@odata.etag"], "the created record has an @odata.etag");
  ok("create (201 with body)");

  // --- update with ETag
  const id = new Guid(created.id);
  await expectServerError(customers.update(id, { phoneNumber: "0123" }), /concurrency token/i,
    "PATCH without If-Match");
  await client({ "If-Match": created["@odata.etag"] }).getEntitySet("customers").update(id, { phoneNumber: "555-0100" });
  const after = await customers.retrieve(id);
  assert.equal(after.phoneNumber, "555-0100", "the update is visible");
  assert.notEqual(after["@odata.etag"], created["@odata.etag"], "the ETag changes with the record");
  await expectServerError(
    client({ "If-Match": created["@odata.etag"] }).getEntitySet("customers").update(id, { phoneNumber: "555-0199" }),
    /another user has already changed the record/i, "PATCH with a stale ETag");
  ok("update with If-Match (stale ETag refused, missing ETag refused)");

  // --- JSON $batch (OData 4.01 JSON format) at the API root, like BC's docs
  const root = client({}, `${api}/`);
  const inCompany = `companies(${companyId})/customers`;
  const ifMatch = client({ "If-Match": after["@odata.etag"] }, `${api}/`);
  const reqs = [
    root.newBatchRequest({ collection: inCompany, method: "POST", entity: { displayName: `Batch A ${suffix}` } }),
    root.newBatchRequest({ collection: inCompany, method: "POST", entity: { displayName: `Batch B ${suffix}` } }),
    root.newBatchRequest({ collection: inCompany, method: "POST", entity: { email: "no-name@example.com" } }),
    ifMatch.newBatchRequest({ collection: inCompany, id, method: "PATCH", entity: { phoneNumber: "555-0200" } }),
  ];
  const results = await root.execBatchRequestsJson(reqs);
  assert.deepEqual(results.map((r) => r.status), [201, 201, 400, 200], "per-operation statuses");
  const bodyA = await results[0].json();
  assert.equal(bodyA.displayName, `Batch A ${suffix}`);
  const bad = await results[2].json();
  assert.match(bad.error.message, /displayName/, "the failed operation names the missing field");
  ok("JSON $batch with partial failure");

  // --- atomic $batch: Isolation: snapshot rolls everything back on a failure
  const atomic = client({ Isolation: "snapshot" }, `${api}/`);
  const name = `Atomic ${suffix}`;
  const aresults = await atomic.execBatchRequestsJson([
    atomic.newBatchRequest({ collection: inCompany, method: "POST", entity: { displayName: name } }),
    atomic.newBatchRequest({ collection: inCompany, method: "POST", entity: { email: "no-name@example.com" } }),
  ]);
  assert.equal(aresults[1].status, 400, "the invalid operation fails");
  const kept = await customers.query(c.newOptions().filter(c.newFilter().field("displayName").eqString(name)));
  assert.equal(kept.length, 0, "nothing of an atomic batch with a failure is kept");
  ok("atomic JSON $batch (Isolation: snapshot) rolls back");
}

main().catch((e) => {
  console.error(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
