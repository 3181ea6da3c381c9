// Reads coupler's item availability service (/odata/v4/ProductItemAvailability)
// with @odata/client, a genuine third-party OData v4 client from npm, the way
// a CRM extension would: HTTP Basic with the ERP user name and a web service
// access key.
//
// Environment (set by compat_test.go):
//   AV_URL   service root, e.g. http://127.0.0.1:P/odata/v4/
//   AV_USER  ERP user name
//   AV_KEY   a valid web service access key
//   AV_ITEM  an item number and AV_INVENTORY its inventory in the ERP
//
// Prints one "ok <check>" line per check; exits 1 at the first failure.
"use strict";

const assert = require("node:assert/strict");
const { OData } = require("@odata/client");

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return v;
}

const url = env("AV_URL");
const user = env("AV_USER");
const item = env("AV_ITEM");
const inventory = Number(env("AV_INVENTORY"));

function client(password) {
  return OData.New4({ serviceEndpoint: url, credential: { username: user, password } });
}

function ok(name) {
  console.log(`ok ${name}`);
}

async function main() {
  const c = client(env("AV_KEY"));
  const set = c.getEntitySet("ProductItemAvailability");

  const rows = await set.query(c.newOptions().filter(c.newFilter().field("ItemNo").eqString(item)));
  assert.equal(rows.length, 1, `$filter ItemNo eq '${item}' returns one row`);
  assert.equal(rows[0].ItemNo, item);
  assert.equal(rows[0].Inventory, inventory, "Inventory is the ERP's");
  assert.equal(typeof rows[0].AvailableQty, "number");
  assert.equal(rows[0].AvailableQty, rows[0].Inventory - rows[0].QtyOnSalesOrders, "AvailableQty = Inventory - QtyOnSalesOrders");
  ok("query with $filter");

  const sel = await set.query(c.newOptions().filter(c.newFilter().field("ItemNo").eqString(item)).select(["ItemNo", "Inventory"]));
  assert.deepEqual(Object.keys(sel[0]).filter((k) => !k.startsWith("@")).sort(), ["Inventory", "ItemNo"], "$select keeps only the chosen fields");
  ok("query with $select");

  const one = await set.retrieve(item);
  assert.equal(one.ItemNo, item);
  ok("retrieve by key");

  const total = await set.count();
  assert.ok(Number.isInteger(total) && total > 1, `$count (${total})`);
  ok("count");

  const r = await fetch(url + "$metadata", { headers: await c.getHeaders() });
  assert.equal(r.status, 200);
  assert.match(await r.text(), /EntitySet Name="ProductItemAvailability"/);
  ok("$metadata");

  const bad = client("not-the-key").getEntitySet("ProductItemAvailability");
  let err;
  try {
    await bad.query();
  } catch (e) {
    err = e;
  }
  assert.ok(err, "a wrong key is refused");
  assert.match(String(err.message), /web service access key/i, `refusal says what to do: ${err && err.message}`);
  ok("wrong key refused");
}

main().catch((e) => {
  console.error(`FAIL ${e.stack || e}`);
  process.exit(1);
});
