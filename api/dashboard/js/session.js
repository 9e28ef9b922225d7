// The bearer token lives in sessionStorage: it survives a reload, not the closing of the tab.

const KEY = "firewatch.token";

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};
