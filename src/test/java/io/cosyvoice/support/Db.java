package io.cosyvoice.support;

import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** Direct JDBC look-ups so tests can assert what is really in the database. */
public final class Db {

    private Db() {
    }

    public static Connection connect(String databaseUrl) throws SQLException {
        URI uri = URI.create(databaseUrl);
        String[] user = uri.getUserInfo().split(":", 2);
        return DriverManager.getConnection("jdbc:postgresql://" + uri.getHost() + ":" + uri.getPort() + uri.getPath(),
                user[0], user.length > 1 ? user[1] : "");
    }

    /** The values of one column for every row a query returns. */
    public static List<String> column(String databaseUrl, String sql) {
        try (Connection conn = connect(databaseUrl); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            List<String> values = new ArrayList<>();
            while (rs.next()) {
                values.add(rs.getString(1));
            }
            return values;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    public static void execute(String databaseUrl, String sql) {
        try (Connection conn = connect(databaseUrl); Statement st = conn.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
