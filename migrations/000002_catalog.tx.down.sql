DROP TABLE menu_items;
DROP TABLE menus;
DROP TABLE set_meal_items;
DROP TABLE dishes;
DROP TABLE canteen_closures;
DROP TABLE meal_periods;
DROP TABLE canteens;
