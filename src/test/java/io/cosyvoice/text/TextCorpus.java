package io.cosyvoice.text;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.provider.Arguments;

/** The texts of the tests, with what they normalise to; shared so every one is checked for idempotence. */
final class TextCorpus {

    private TextCorpus() {}

    static final String[][] CHINESE = {
        {"2024年3月5日，气温-3.5°C，湿度80%。", "二零二四年三月五日，气温零下三点五摄氏度，湿度百分之八十。"},
        {"数字0，10，15，105，110，1010，2008，10000，12345，100000000。",
            "数字零，十，十五，一百零五，一百一十，一千零一十，两千零八，一万，一万两千三百四十五，一亿。"},
        {"一共2个人，第2名，2万元，持续2小时。", "一共两个人，第二名，两万元，持续两小时。"},
        {"气温-7度，变化-3.5度。", "气温负七度，变化负三点五度。"},
        {"圆周率约3.14，概率0.5。", "圆周率约三点一四，概率零点五。"},
        {"增长50%，下降3.5%，变化-5%。", "增长百分之五十，下降百分之三点五，变化负百分之五。"},
        {"他1998年出生，2024年毕业。", "他一九九八年出生，二零二四年毕业。"},
        {"会议在3月5日，即2024-03-05或2024/3/5举行。", "会议在三月五日，即二零二四年三月五日或二零二四年三月五日举行。"},
        {"时间是10:30，或者7:05，或者10:00，下午3点开会。", "时间是十点三十分，或者七点零五分，或者十点，下午三点开会。"},
        {"需要3-5个人，3~5天，增长10%-20%。", "需要三到五个人，三到五天，增长百分之十到百分之二十。"},
        {"一半是1/2，四分之三是3/4，比分3:2。", "一半是二分之一，四分之三是四分之三，比分三比二。"},
        {"电话13812345678，座机010-12345678，客服400-820-8820，编号007。",
            "电话一三八一二三四五六七八，座机零一零一二三四五六七八，客服四零零八二零八八二零，编号零零七。"},
        {"他跑了5km，重60kg，身高175cm，体温38℃，时速100km/h，喝了500ml水。",
            "他跑了五公里，重六十公斤，身高一百七十五厘米，体温三十八摄氏度，时速一百公里每小时，喝了五百毫升水。"},
        {"价格￥5.20，或¥0.5，或$100，或€3.5，或£2。", "价格五元二角，或五角，或一百美元，或三点五欧元，或两英镑。"},
        {"第3章，排名1st，1990年代，80年代。", "第三章，排名第一，一九九零年代，八十年代。"},
        {"计算1+1=2，我 & 你。", "计算一加一等于二，我和你。"},
        {"v1.2.3版本，市值2.5亿，共1,234,567人。", "v一点二点三版本，市值二点五亿，共一百二十三万四千五百六十七人。"},
        {"在2008年北京奥运会上，中国获得了51枚金牌。", "在二零零八年北京奥运会上，中国获得了五十一枚金牌。"},
        {"Windows 10系统，iPhone 15。", "Windows十系统，iPhone十五。"},
    };

    static final String[][] ENGLISH = {
        {"On 3/5/2024 the temperature was -3.5°C and 80% humid.",
            "On March fifth, twenty twenty-four the temperature was minus three point five degrees Celsius and eighty percent humid."},
        {"I paid $12.50 for 3 books at 10:30.", "I paid twelve dollars and fifty cents for three books at ten thirty."},
        {"I have 21 apples and 1,234 pears.", "I have twenty-one apples and one thousand two hundred thirty-four pears."},
        {"Pi is about 3.14 and it was -5 outside.", "Pi is about three point one four and it was minus five outside."},
        {"The 1st, 2nd, 3rd, 11th, 12th, 21st and 23rd runners.",
            "The first, second, third, eleventh, twelfth, twenty-first and twenty-third runners."},
        {"In 1999 and 2008 and 2024 and 1905 and 2000 and 1100.",
            "In nineteen ninety-nine and two thousand eight and twenty twenty-four and nineteen oh five and two thousand and eleven hundred."},
        {"The 1990s and the 80s.", "The nineteen nineties and the eighties."},
        {"Prices rose 50% to $5.20, then £3.50 and €1.",
            "Prices rose fifty percent to five dollars and twenty cents, then three pounds and fifty pence and one euro."},
        {"It costs $1 or $0.99 or $1,000 or $3.5 million.",
            "It costs one dollar or ninety-nine cents or one thousand dollars or three point five million dollars."},
        {"Meet at 10:30, 7:05, 10:00 or 9am or 3:30 p.m. today.",
            "Meet at ten thirty, seven oh five, ten o'clock or nine AM or three thirty PM today."},
        {"We drove 5 km at 60 mph; it weighs 3 kg, 20 cm long, 1 mm thin, 1 kg.",
            "We drove five kilometers at sixty miles per hour; it weighs three kilograms, twenty centimeters long, one millimeter thin, one kilogram."},
        {"It was -3°C or 98.6°F or 1 degree.",
            "It was minus three degrees Celsius or ninety-eight point six degrees Fahrenheit or one degree."},
        {"Tom & Jerry met @ noon, and 1 + 1 = 2.", "Tom and Jerry met at noon, and one plus one equals two."},
        {"AT&T and C++ keep their symbols.", "AT&T and C++ keep their symbols."},
        {"Dr. Smith met Mr. Brown and Mrs. Green, e.g. at No. 5.",
            "Doctor Smith met Mister Brown and Missus Green, for example at number five."},
        {"Call 555-123-4567 or 13812345678 with code 007.",
            "Call five five five, one two three, four five six seven or one three eight one two three four five six seven eight with code zero zero seven."},
        {"Add 1/2 cup, 3/4 cup and 2/3 of it; the score was 3:2.",
            "Add one half cup, three quarters cup and two thirds of it; the score was three to two."},
        {"Pages 10-20 and version 1.2.3 are out.", "Pages ten to twenty and version one point two point three are out."},
        {"The 5G network supports 4K video and MP3 files.", "The five G network supports four K video and MP three files."},
    };

    static final String[][] CLEANUP = {
        {"ＡＢＣ１２３全角", "ABC一百二十三全角"},
        {"Hello   \t  world\u00A0again", "Hello world again"},
        {"你\u200b好\u0007啊\u3000吗", "你好啊吗"},
        {"太棒了😀👍🏽！", "太棒了！"},
        {"你好！！！真的吗？？？好的。。。等等......然后……", "你好！真的吗？好的。等等…然后…"},
        {"Wow!!! Really??? OK...", "Wow! Really? OK…"},
        {"“你好，”他说，‘再见’。", "\"你好，\"他说，'再见'。"},
        {"He said “hi” and ‘bye’.", "He said \"hi\" and 'bye'."},
        {"# 标题\n- 第一项\n* 第二项\n**加粗** __下划线__ ~删除~ `代码`", "标题\n第一项\n第二项\n加粗下划线删除代码"},
        {"这是——一个测试--好的 - 结束", "这是，一个测试，好的，结束"},
        {"Wait -- what - really", "Wait, what, really"},
        {"北京, 你好! 真的? 好: 是的; 走.", "北京，你好！真的？好：是的；走。"},
        {"1. 苹果\n2. 香蕉", "一、苹果\n二、香蕉"},
        {"  前后空白  \n\n\n  多个空行  ", "前后空白\n多个空行"},
        {"请看[文档](https://example.com/a)。", "请看文档。"},
        {"#话题# 今天，，真好。", "话题今天，真好。"},
        {"北京, 你好, 收到好友从远方寄来的生日礼物,那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐,笑容如花儿般绽放。",
            "北京，你好，收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐，笑容如花儿般绽放。"},
    };

    static final String[][] MARKERS = {
        {"[laughter]真的吗？<strong>不会</strong>吧[breath]", "[laughter]真的吗？<strong>不会</strong>吧[breath]"},
        {"用四川话说<|endofprompt|>", "用四川话说<|endofprompt|>"},
        {"<strong>3</strong>个苹果", "<strong>三</strong>个苹果"},
        {"[breath]I have 2 cats[laughter].", "[breath]I have two cats[laughter]."},
        {"[quick_breath]你好[vocalized-noise]<|zh|>3个<|HAPPY|>", "[quick_breath]你好[vocalized-noise]<|zh|>三个<|HAPPY|>"},
        {"[noise][cough][sigh]好吧[breath_2]", "[noise][cough][sigh]好吧[breath_2]"},
        {"你好！！[breath]！！", "你好！[breath]"},
        {"[Breath]不是标记，见[1]。", "Breath不是标记，见一。"},
        {"[breath] Hello [laughter] world", "[breath] Hello [laughter] world"},
    };

    /** A long Chinese paragraph: short first sentence, a sentence over 80 units, numbers. */
    static final String LONG_CHINESE = "好的。今天是2024年3月5日，北京的天气非常好，气温大约在15°C左右，湿度只有30%，"
            + "我们一行8个人早上7:30从家里出发，开车走了大约120km，一路上经过了许多美丽的村庄和一望无际的田野，"
            + "还在路边的小店里买了2斤苹果和3瓶水，一共花了￥45.50元，大家有说有笑，心情格外舒畅，"
            + "直到中午12点左右才终于到达了目的地。[breath]下午我们去爬山，山高约1,500米，"
            + "爬到山顶用了将近3个小时！晚上大家围坐在一起吃饭聊天，一直聊到深夜才依依不舍地回房间休息。"
            + "第二天早上我们看了日出，真美啊！";

    /** A long English paragraph with abbreviations, decimals, money and one very long sentence. */
    static final String LONG_ENGLISH = "Okay. Dr. Smith arrived at 9:15 a.m. on Jan. 5th with 3.5 kg of equipment. "
            + "He said the project, which had cost $12,500.75 so far and involved 23 engineers from 4 countries, "
            + "would need at least 2 more months, a lot more patience and a great deal of careful planning "
            + "before anyone could honestly call it finished, and everyone in the room nodded slowly while "
            + "looking at the charts on the wall and thinking about the long nights ahead of them. "
            + "The U.S. team agreed! Mr. Brown, e.g., asked whether 1.5 times the budget was enough; nobody knew. "
            + "[laughter] In the end they voted 7 to 2 in favor, and the meeting ended at 11:45.";

    /** A mixed text. */
    static final String MIXED = "我们下午3点开会。The meeting starts at 3 pm. 请带上你的iPhone 15和2份报告！"
            + "Bring 2 copies, please.";

    static Stream<Arguments> chinese() {
        return Stream.of(CHINESE).map(c -> Arguments.of(c[0], c[1]));
    }

    static Stream<Arguments> english() {
        return Stream.of(ENGLISH).map(c -> Arguments.of(c[0], c[1]));
    }

    static Stream<Arguments> cleanup() {
        return Stream.of(CLEANUP).map(c -> Arguments.of(c[0], c[1]));
    }

    static Stream<Arguments> markers() {
        return Stream.of(MARKERS).map(c -> Arguments.of(c[0], c[1]));
    }

    /** Every text of the tests, inputs and expected outputs. */
    static List<String> all() {
        List<String> all = new ArrayList<>();
        for (String[][] table : List.of(CHINESE, ENGLISH, CLEANUP, MARKERS)) {
            for (String[] c : table) {
                all.add(c[0]);
                all.add(c[1]);
            }
        }
        all.addAll(List.of(LONG_CHINESE, LONG_ENGLISH, MIXED));
        return all;
    }
}
