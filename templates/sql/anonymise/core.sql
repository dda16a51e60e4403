-- supafleet: anonymise what every Supabase project holds, for a copy into
-- another environment: the users GoTrue knows get no real address and no way
-- to log in with a production password. The schema packs' own hooks follow.

update auth.users set
  email = 'user-' || left(id::text, 8) || '@example.invalid',
  raw_user_meta_data = '{}'::jsonb;
do $$
begin
  if exists (select 1 from information_schema.columns where table_schema = 'auth' and table_name = 'users' and column_name = 'encrypted_password') then
    execute 'update auth.users set encrypted_password = null';
  end if;
  if exists (select 1 from information_schema.columns where table_schema = 'auth' and table_name = 'users' and column_name = 'phone') then
    execute 'update auth.users set phone = null';
  end if;
end
$$;
