// A real OpenID Connect provider (node-oidc-provider) for placemat's sign-in tests.
//
//   node provider.js PORT CLIENT_JSON
//
// CLIENT_JSON is the one client: {"client_id", "client_secret", "redirect_uri"}, and
// optionally "id_token_ttl" (seconds) and "issuer" (the address the provider announces, when
// a proxy stands in front of it). Whoever signs in names themselves in the login form
// (the provider's development interactions): the name is the account, and the ID token's
// `email` claim is that name, or the `student_number` claim when the name has no "@".
// Consent is taken as given for the one client. The provider stops when its standard input
// closes, so that it never outlives the test process that started it.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const client = JSON.parse(process.argv[3]);

const provider = new Provider(client.issuer ?? `http://127.0.0.1:${port}`, {
  clients: [{
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: [client.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email'], profile: ['student_number'] },
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return id.includes('@') ? { sub: id, email: id } : { sub: id, student_number: id };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  ttl: {
    IdToken: client.id_token_ttl ?? 3600,
    AccessToken: 3600,
    AuthorizationCode: 60,
    Grant: 3600,
    Interaction: 3600,
    Session: 3600,
  },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => console.log('ready'));
process.stdin.on('end', () => { server.close(); process.exit(0); });
process.stdin.resume();
