-- Issue 17, review fixes: a camera's login answers digest challenges for the address it was
-- given for only. ptz_origin is that address's scheme://host[:port] (lowercase, no user
-- info); a PTZ address since moved to another one needs the login given again
-- (dispatch/cameras.py), so the password is never sent to a host it was not meant for.
ALTER TABLE camera_credentials ADD COLUMN ptz_origin text;
UPDATE camera_credentials c
SET ptz_origin = lower(regexp_replace(
        substring(d.config #>> '{ptz,url}' FROM '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*'),
        '//[^@/]*@', '//'))
FROM devices d
WHERE d.id = c.device_id;
