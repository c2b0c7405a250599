/* meshwatch dashboard: the discovery page(s). Loaded after app.js; registers its
   routes with window.meshwatch.registerPage and draws with the helpers in
   window.meshwatch.ui (same rules as app.js: no innerHTML, no inline
   style or script). */
'use strict';

(function () {
  // const { h, api } = window.meshwatch.ui;
})();
