\set id0 random(1, 10000)
\set id1 random(1, 10000)
\set id2 random(1, 10000)
\set id3 random(1, 10000)
\set id4 random(1, 10000)
\set id5 random(1, 10000)
\set id6 random(1, 10000)
\set id7 random(1, 10000)
\set id8 random(1, 10000)
\set id9 random(1, 10000)
\set id10 random(1, 10000)
\set id11 random(1, 10000)
\set id12 random(1, 10000)
\set id13 random(1, 10000)
\set id14 random(1, 10000)
\set id15 random(1, 10000)
\set id16 random(1, 10000)
\set id17 random(1, 10000)
\set id18 random(1, 10000)
\set id19 random(1, 10000)
SELECT id, randomnumber FROM world WHERE id = :id0;
SELECT id, randomnumber FROM world WHERE id = :id1;
SELECT id, randomnumber FROM world WHERE id = :id2;
SELECT id, randomnumber FROM world WHERE id = :id3;
SELECT id, randomnumber FROM world WHERE id = :id4;
SELECT id, randomnumber FROM world WHERE id = :id5;
SELECT id, randomnumber FROM world WHERE id = :id6;
SELECT id, randomnumber FROM world WHERE id = :id7;
SELECT id, randomnumber FROM world WHERE id = :id8;
SELECT id, randomnumber FROM world WHERE id = :id9;
SELECT id, randomnumber FROM world WHERE id = :id10;
SELECT id, randomnumber FROM world WHERE id = :id11;
SELECT id, randomnumber FROM world WHERE id = :id12;
SELECT id, randomnumber FROM world WHERE id = :id13;
SELECT id, randomnumber FROM world WHERE id = :id14;
SELECT id, randomnumber FROM world WHERE id = :id15;
SELECT id, randomnumber FROM world WHERE id = :id16;
SELECT id, randomnumber FROM world WHERE id = :id17;
SELECT id, randomnumber FROM world WHERE id = :id18;
SELECT id, randomnumber FROM world WHERE id = :id19;
\set r0 random(1, 10000)
\set r1 random(1, 10000)
\set r2 random(1, 10000)
\set r3 random(1, 10000)
\set r4 random(1, 10000)
\set r5 random(1, 10000)
\set r6 random(1, 10000)
\set r7 random(1, 10000)
\set r8 random(1, 10000)
\set r9 random(1, 10000)
\set r10 random(1, 10000)
\set r11 random(1, 10000)
\set r12 random(1, 10000)
\set r13 random(1, 10000)
\set r14 random(1, 10000)
\set r15 random(1, 10000)
\set r16 random(1, 10000)
\set r17 random(1, 10000)
\set r18 random(1, 10000)
\set r19 random(1, 10000)
UPDATE world SET randomnumber = v.r FROM (VALUES (:id0::integer, :r0::integer), (:id1::integer, :r1::integer), (:id2::integer, :r2::integer), (:id3::integer, :r3::integer), (:id4::integer, :r4::integer), (:id5::integer, :r5::integer), (:id6::integer, :r6::integer), (:id7::integer, :r7::integer), (:id8::integer, :r8::integer), (:id9::integer, :r9::integer), (:id10::integer, :r10::integer), (:id11::integer, :r11::integer), (:id12::integer, :r12::integer), (:id13::integer, :r13::integer), (:id14::integer, :r14::integer), (:id15::integer, :r15::integer), (:id16::integer, :r16::integer), (:id17::integer, :r17::integer), (:id18::integer, :r18::integer), (:id19::integer, :r19::integer)) AS v(id, r) WHERE world.id = v.id;
