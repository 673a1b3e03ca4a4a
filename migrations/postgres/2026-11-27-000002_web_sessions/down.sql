DROP TABLE password_links;
DROP TABLE web_sessions;
