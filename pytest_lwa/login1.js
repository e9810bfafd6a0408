/* pytest-lwa's stand-in for Amazon's "Login with Amazon SDK for JavaScript" (login1.js).
 *
 * The API of Amazon's "JavaScript SDK reference", talking to the pytest-lwa mock only: the mock fills in
 * where it lives (the configuration below) when it serves this file at /sdk/{na,eu,fe}/login1.js.
 * What the reference leaves unsaid, and what this file chose, is in pytest-lwa's docs/guide.md
 * ("Amazon's JavaScript SDK").
 */
(function (window, document) {
  "use strict";

  var config = /*LWA-CONFIG*/ null;

  var Region = { NorthAmerica: "NorthAmerica", Europe: "Europe", AsiaPacific: "AsiaPacific" };
  var REGION_KEYS = { NorthAmerica: "na", Europe: "eu", AsiaPacific: "fe" };
  var TOKEN_COOKIE = "amazon_Login_accessToken";
  var PKCE_COOKIE = "amazon_Login_pkce";
  var FIELDS = ["access_token", "code", "error", "error_description", "error_uri", "expires_in", "scope", "state",
    "token_type"];

  var settings = { clientId: null, region: config.region, sandbox: false, siteDomain: null, useCookie: false };
  var held = null; // the access token retrieveToken got: {token, expiresAt}

  function fail(method, message) {
    throw new Error("amazon.Login." + method + ": " + message);
  }

  function later(fn) {
    window.setTimeout(fn, 0);
  }

  function hosts() {
    return config.hosts[settings.region];
  }

  function query(params) {
    return Object.keys(params).map(function (name) {
      return encodeURIComponent(name) + "=" + encodeURIComponent(params[name]);
    }).join("&");
  }

  function withQuery(url, params) {
    var split = url.split("#");
    var sep = split[0].indexOf("?") < 0 ? "?" : "&";
    return split[0] + sep + query(params) + (split.length > 1 ? "#" + split.slice(1).join("#") : "");
  }

  // --- cookies ---------------------------------------------------------------------------------

  function setCookie(name, value, maxAge) {
    var parts = [name + "=" + encodeURIComponent(value), "path=/", "max-age=" + maxAge, "SameSite=Lax"];
    if (settings.siteDomain) parts.push("domain=" + settings.siteDomain);
    if (window.location.protocol === "https:") parts.push("Secure");
    document.cookie = parts.join("; ");
  }

  function getCookie(name) {
    var found = null;
    document.cookie.split(";").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at > 0 && pair.slice(0, at).trim() === name) found = decodeURIComponent(pair.slice(at + 1).trim());
    });
    return found;
  }

  function dropCookie(name) {
    setCookie(name, "", 0);
  }

  // --- the token the SDK holds -------------------------------------------------------------------

  function keep(body) {
    var expiresIn = Number(body.expires_in) || 3600;
    held = { token: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
    if (settings.useCookie) setCookie(TOKEN_COOKIE, body.access_token, expiresIn);
  }

  function heldToken() {
    if (held && held.expiresAt > Date.now()) return held.token;
    return settings.useCookie ? getCookie(TOKEN_COOKIE) : null;
  }

  // --- PKCE (RFC 7636, S256) ----------------------------------------------------------------------

  function base64url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return window.btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function pkcePair() {
    if (!window.crypto || !window.crypto.subtle) {
      return Promise.reject(new Error("PKCE needs the browser's Web Crypto, which only a secure context has"
        + " (https://, or http://localhost and 127.0.0.1)"));
    }
    var verifier = base64url(window.crypto.getRandomValues(new Uint8Array(32)));
    return window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (digest) {
      return { verifier: verifier, challenge: base64url(new Uint8Array(digest)) };
    });
  }

  // --- AuthorizeRequest --------------------------------------------------------------------------

  function AuthorizeRequest() {
    this.status = "queued";
    // the callbacks still to call: not enumerable, so that a page logging the request sees the answer alone
    Object.defineProperty(this, "_next", { value: [], writable: true });
  }

  AuthorizeRequest.prototype.onComplete = function (next) {
    if (typeof next !== "function" && typeof next !== "string") {
      fail("authorize", "onComplete takes a function or a redirect URL");
    }
    if (this.status === "complete") {
      deliver(this, next);
    } else {
      this._next.push(next);
    }
    return this;
  };

  AuthorizeRequest.prototype._complete = function (answer) {
    var request = this;
    FIELDS.forEach(function (name) {
      if (answer[name] !== undefined) request[name] = name === "expires_in" ? Number(answer[name]) : answer[name];
    });
    request.status = "complete";
    var next = request._next;
    request._next = [];
    next.forEach(function (each) {
      deliver(request, each);
    });
  };

  function deliver(request, next) {
    if (typeof next === "function") {
      next(request);
      return;
    }
    var params = {};
    FIELDS.forEach(function (name) {
      if (request[name] !== undefined) params[name] = request[name];
    });
    window.location.href = withQuery(next, params);
  }

  // --- authorize ---------------------------------------------------------------------------------

  function wellFormed(text) {
    try {
      encodeURIComponent(text);
      return true;
    } catch (ignored) {
      return false;
    }
  }

  function scopeText(scope) {
    if (Array.isArray(scope)) scope = scope.join(" ");
    if (typeof scope !== "string" || !scope.trim()) {
      fail("authorize", "options.scope is required: a string, or an array of strings");
    }
    return scope.trim().split(/\s+/).join(" ");
  }

  function authorize(options, next) {
    if (!settings.clientId) fail("authorize", "call amazon.Login.setClientId(clientId) first");
    if (!options || typeof options !== "object") fail("authorize", "options must be an object");
    var scope = scopeText(options.scope);
    var interactive = options.interactive === undefined ? "auto" : options.interactive;
    if (["auto", "always", "never"].indexOf(interactive) < 0) {
      fail("authorize", "options.interactive is 'auto', 'always' or 'never', not " + JSON.stringify(interactive));
    }
    var popup = options.popup === undefined ? true : Boolean(options.popup);
    if (!popup && typeof next !== "string") {
      fail("authorize", "with popup: false, next must be the redirect URL (one of the security profile's"
        + " Allowed Return URLs)");
    }
    var request = new AuthorizeRequest();
    if (next !== undefined && next !== null) request.onComplete(next);
    if (interactive === "never") {
      // the only token a page could hold from authorize was the implicit grant's, which Amazon ended (N4)
      later(function () {
        request._complete({ error: "invalid_grant", error_description: "No cached token: interactive is 'never'" });
      });
      return request;
    }
    var params = {
      client_id: settings.clientId,
      scope: scope,
      response_type: options.pkce ? "code" : (options.response_type === undefined ? "token" : options.response_type),
    };
    if (options.state !== undefined) params.state = String(options.state);
    if (options.scope_data !== undefined) {
      params.scope_data = typeof options.scope_data === "string" ? options.scope_data
        : JSON.stringify(options.scope_data);
    }
    ["scope", "state", "scope_data"].forEach(function (name) {
      if (params[name] !== undefined && !wellFormed(params[name])) {
        fail("authorize", "options." + name + " is not well-formed Unicode (a lone surrogate): no URL can carry it");
      }
    });
    if (settings.sandbox) params.sandbox = "true";
    var signin = hosts().signin;
    var target = popup ? window.open("", "amazon_login", "popup,width=800,height=640") : null;
    if (popup && !target) {
      later(function () {
        request._complete({ error: "invalid_request",
          error_description: "The browser blocked the popup: call authorize from a click handler" });
      });
      return request;
    }
    request.status = "in_progress";
    params.redirect_uri = popup ? withQuery(signin + config.relay, { uri: window.location.href.split("#")[0] }) : next;
    (options.pkce ? pkcePair() : Promise.resolve(null)).then(function (pair) {
      if (pair) {
        params.code_challenge = pair.challenge;
        params.code_challenge_method = "S256";
      }
      var url = signin + "/ap/oa?" + query(params);
      if (pair) {
        setCookie(PKCE_COOKIE, JSON.stringify({ verifier: pair.verifier, redirect_uri: params.redirect_uri }), 600);
      }
      if (popup) {
        listen(target, signin, request);
        target.location.href = url;
      } else {
        window.location.href = url;
      }
    }).then(null, function (error) { // no PKCE (no Web Crypto), or a request no URL can carry
      if (target) target.close();
      var why = error instanceof URIError ? "The request cannot be sent: " + error.message : error.message;
      request._complete({ error: "invalid_request", error_description: why });
    });
    return request;
  }

  // the popup's one listener: a second authorize reuses the popup (it has the same name), so the request it
  // supersedes stops listening and is left in_progress, as a closed popup leaves it
  var listening = null;

  function listen(target, signin, request) {
    function heard(event) {
      if (event.source !== target || event.origin !== signin) return;
      var data = event.data;
      if (!data || data.type !== "lwa-authorize" || !data.answer || typeof data.answer !== "object") return;
      window.removeEventListener("message", heard);
      listening = null;
      request._complete(data.answer);
    }
    if (listening) window.removeEventListener("message", listening);
    listening = heard;
    window.addEventListener("message", heard);
  }

  // --- the token and profile endpoints -------------------------------------------------------------

  function call(url, init) {
    return window.fetch(url, init).then(function (response) {
      return response.json().catch(function () {
        return { error: "server_error", error_description: "The answer (HTTP " + response.status + ") is not JSON" };
      });
    }, function (error) {
      return { error: "network_error",
        error_description: "The browser could not read the answer of " + url + " (" + error.name + "): is "
          + window.location.origin + " one of the security profile's Allowed Origins?" };
    });
  }

  function retrieveToken(code, callback) {
    if (!settings.clientId) fail("retrieveToken", "call amazon.Login.setClientId(clientId) first");
    if (typeof callback !== "function") fail("retrieveToken", "callback must be a function");
    var saved = getCookie(PKCE_COOKIE);
    var pkce = null;
    try {
      pkce = saved && JSON.parse(saved);
    } catch (ignored) {
      pkce = null;
    }
    if (!pkce || !pkce.verifier) {
      later(function () {
        callback({ error: "invalid_request", error_description: "No PKCE verifier on this site: call"
          + " amazon.Login.authorize({pkce: true, ...}) on this domain first, with cookies enabled" });
      });
      return;
    }
    dropCookie(PKCE_COOKIE);
    var body = { grant_type: "authorization_code", code: String(code), client_id: settings.clientId,
      code_verifier: pkce.verifier, redirect_uri: pkce.redirect_uri };
    call(hosts().api + "/auth/o2/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8" },
      body: query(body),
    }).then(function (answer) {
      if (answer.access_token) keep(answer);
      callback(answer);
    });
  }

  function retrieveProfile(token, callback) {
    if (typeof token === "function") {
      callback = token;
      token = null;
    }
    if (typeof callback !== "function") fail("retrieveProfile", "callback must be a function");
    token = token || heldToken();
    if (!token) {
      later(function () {
        callback({ success: false, error: "invalid_grant",
          error_description: "No access token: pass one, or get one with retrieveToken first" });
      });
      return;
    }
    if (/[^\x20-\x7e]/.test(String(token))) { // no header can carry it: what the endpoint says of a token not its own
      later(function () {
        callback({ success: false, error: "invalid_token",
          error_description: "The request has an invalid parameter : access_token" });
      });
      return;
    }
    call(hosts().api + "/user/profile", { headers: { Authorization: "Bearer " + token } }).then(function (answer) {
      if (answer.error || !answer.user_id) {
        callback({ success: false, error: answer.error || "server_error",
          error_description: answer.error_description || "The profile endpoint answered no user_id" });
        return;
      }
      var profile = { CustomerId: answer.user_id };
      if (answer.name !== undefined) profile.Name = answer.name;
      if (answer.email !== undefined) profile.PrimaryEmail = answer.email;
      if (answer.postal_code !== undefined) profile.PostalCode = answer.postal_code;
      callback({ success: true, profile: profile });
    });
  }

  // --- settings ----------------------------------------------------------------------------------

  function setClientId(clientId) {
    if (typeof clientId !== "string" || !clientId) fail("setClientId", "the client id is a non-empty string");
    settings.clientId = clientId;
  }

  function getClientId() {
    return settings.clientId;
  }

  function logout() {
    held = null;
    dropCookie(TOKEN_COOKIE);
    dropCookie(PKCE_COOKIE);
  }

  function setRegion(region) {
    if (!Object.prototype.hasOwnProperty.call(REGION_KEYS, region)) {
      fail("setRegion", "the region is one of amazon.Login.Region's: NorthAmerica, Europe, AsiaPacific");
    }
    settings.region = REGION_KEYS[region];
  }

  window.amazon = window.amazon || {};
  window.amazon.Login = {
    Region: Region,
    authorize: authorize,
    getClientId: getClientId,
    logout: logout,
    retrieveProfile: retrieveProfile,
    retrieveToken: retrieveToken,
    setClientId: setClientId,
    setRegion: setRegion,
    setSandboxMode: function (sandbox) {
      settings.sandbox = Boolean(sandbox);
    },
    setSiteDomain: function (domain) {
      settings.siteDomain = domain ? String(domain) : null;
    },
    setUseCookie: function (useCookie) {
      settings.useCookie = Boolean(useCookie);
    },
  };

  if (!document.getElementById("amazon-root")) {
    window.console.warn("Login with Amazon: the page has no <div id=\"amazon-root\">, which the SDK needs");
  }
  if (typeof window.onAmazonLoginReady === "function") window.onAmazonLoginReady();
})(window, document);
