// Initiates the 3-member replica set "rs0" of the Compose stack (run by the mongo-init service).
// Idempotent: a second run finds the set initiated and only reports its members.
const members = [
  { _id: 0, host: "mongo-1:27017", priority: 2 },
  { _id: 1, host: "mongo-2:27017", priority: 1 },
  { _id: 2, host: "mongo-3:27017", priority: 1 },
];
let initiated = true;
try {
  rs.status();
} catch (e) {
  if (e.codeName !== "NotYetInitialized") {
    throw e;
  }
  initiated = false;
}
if (!initiated) {
  rs.initiate({ _id: "rs0", members: members });
  print("replica set rs0 initiated");
}
// wait (bounded) until a primary is elected, so the services' first writes find one
for (let i = 0; i < 60; i++) {
  const primary = rs.status().members.find((m) => m.stateStr === "PRIMARY");
  if (primary) {
    print("primary: " + primary.name);
    quit(0);
  }
  sleep(1000);
}
print("no primary after 60 s");
quit(1);
