// The web app is added by the front-end issue.
