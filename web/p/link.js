// An emailed pass link, /p/#<secret>: hand the secret to the member page, still in the
// fragment (browsers never send a fragment to a server, so it reaches no access log).
const secret = location.hash.slice(1);
location.replace(secret ? `/#link=${secret}` : "/");
